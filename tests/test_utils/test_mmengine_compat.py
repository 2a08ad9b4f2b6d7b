# Copyright (c) HilDA authors. All rights reserved.
"""Every mmengine private attribute HilDA reads exists in the installed
mmengine; a missing one fails by name."""
from types import SimpleNamespace

import pytest

from projects.HilDA.hilda.utils import mmengine_compat
from projects.HilDA.hilda.utils.mmengine_compat import (PRIVATE_ATTRIBUTES,
                                                        MMEngineCompatError,
                                                        check_mmengine_compat,
                                                        is_resuming,
                                                        replace_method)


def test_installed_mmengine_has_every_private_attribute_hilda_reads():
    check_mmengine_compat()


def test_a_renamed_attribute_fails_naming_it(monkeypatch):
    renamed = dict(PRIVATE_ATTRIBUTES)
    renamed[('mmengine.runner.IterBasedTrainLoop',
             '_iteration')] = 'a renamed _iter'
    monkeypatch.setattr(mmengine_compat, 'PRIVATE_ATTRIBUTES', renamed)
    with pytest.raises(MMEngineCompatError) as err:
        check_mmengine_compat()
    assert ("mmengine.runner.IterBasedTrainLoop has no attribute "
            "'_iteration'") in str(err.value)


def test_accessors_have_no_default_that_hides_a_rename():
    with pytest.raises(AttributeError, match='_resume'):
        is_resuming(SimpleNamespace(resume=True))


def test_no_private_mmengine_access_outside_the_compat_module():
    """The attributes of PRIVATE_ATTRIBUTES are read nowhere else."""
    import os
    import re

    from tests.conftest import REPO_ROOT
    root = os.path.join(REPO_ROOT, 'projects', 'HilDA', 'hilda')
    names = {attribute for _, attribute in PRIVATE_ATTRIBUTES}
    pattern = re.compile(r'\.(%s)\b|[\'"](%s)[\'"]' %
                         ('|'.join(names), '|'.join(names)))
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith('.py') or name == 'mmengine_compat.py':
                continue
            for no, line in enumerate(open(path), 1):
                if pattern.search(line):
                    found.append(f'{path}:{no}: {line.strip()}')
    assert not found, found


def test_replace_method_wraps_once():
    obj = SimpleNamespace(f=lambda: 1)
    assert replace_method(obj, 'f', lambda f: lambda: f() + 1)
    assert not replace_method(obj, 'f', lambda f: lambda: f() + 10)
    assert obj.f() == 2
