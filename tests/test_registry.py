# Copyright (c) HilDA authors. All rights reserved.
import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT
from tests.helpers.tiny_hilda import voxel_layer


def test_custom_imports_registers_plugin_and_builds_module(tmp_path):
    """A fresh interpreter loads a config that imports the plugin and builds
    a HilDA module through mmdet3d's registry (nothing imported by hand)."""
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        textwrap.dedent(f"""
        custom_imports = dict(
            imports=['projects.HilDA.hilda'], allow_failed_imports=False)
        model = dict(
            type='HilDADataPreprocessor',
            voxel=True,
            voxel_type='minkunet',
            batch_first=True,
            voxel_layer={voxel_layer(0.1, [-50, -50, -5, 50, 50, 3])!r})
        """))
    script = textwrap.dedent(f"""
        import sys
        from mmengine.config import Config
        from mmdet3d.registry import MODELS
        assert 'projects.HilDA.hilda' not in sys.modules
        cfg = Config.fromfile({str(cfg_file)!r})
        model = MODELS.build(cfg.model)
        print(type(model).__module__, type(model).__name__)
        """)
    out = subprocess.run([sys.executable, '-c', script],
                         cwd=REPO_ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    module, name = out.stdout.split()[-2:]
    assert name == 'HilDADataPreprocessor'
    assert module.startswith('projects.HilDA.hilda.models')


def test_registered_hilda_modules_lists_only_plugin_classes():
    from projects.HilDA.hilda.apis import registered_hilda_modules
    report = registered_hilda_modules()
    assert 'HilDADataPreprocessor' in report['model']
    # mmdet3d's own classes are not reported as HilDA's.
    assert all('Det3DDataPreprocessor' not in names
               for names in report.values())
