# Copyright (c) HilDA authors. All rights reserved.
"""The documentation stays true: links resolve, commands parse.

For ``README.md``, ``docs/*.md`` and ``projects/HilDA/README.md``:

- every relative link and image resolves to a file of the repository, and a
  ``#anchor`` to a heading of the target page (GitHub's heading ids);
- every ``tools/...`` command line in their shell code blocks names an
  existing tool and config files that exist, and its arguments parse with
  that tool's own argument parser (run up to ``parse_args`` and stopped
  there), so a renamed or removed flag fails here;
- every ``make`` target they name exists in the Makefile.

Placeholders in upper case (``CONFIG``, ``CKPT``) and synopsis brackets
(``[--work-dir DIR]``, ``[train.py args]``) are allowed in commands.
"""
import argparse
import contextlib
import glob
import importlib.util
import inspect
import io
import os
import os.path as osp
import re
import shlex
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC_FILES = sorted([
    osp.join(ROOT, 'README.md'),
    osp.join(ROOT, 'projects', 'HilDA', 'README.md')
] + glob.glob(osp.join(ROOT, 'docs', '*.md')))
SHELL_LANGS = {'bash', 'sh', 'shell', 'console'}
# Shell wrappers and the python tool each one hands its arguments to.
WRAPPERS = {
    'tools/dist_train.sh': 'tools/train.py',
    'tools/dist_test.sh': 'tools/test.py',
    'tools/slurm_train.sh': 'tools/train.py',
}


def rel(path):
    return osp.relpath(path, ROOT)


# -------------------------------------------------------------- markdown --
def split_code(text):
    """Yield ``(line_no, lang, block_lines)`` for fenced blocks and
    ``(line_no, None, line)`` for every prose line."""
    lines = text.split('\n')
    i = 0
    while i < len(lines):
        m = re.match(r'^\s*(```+|~~~+)\s*([\w+-]*)', lines[i])
        if m:
            fence, lang, start = m.group(1), m.group(2).lower(), i
            i += 1
            block = []
            while i < len(lines) and not lines[i].strip().startswith(fence):
                block.append(lines[i])
                i += 1
            yield start + 1, lang, block
        else:
            yield i + 1, None, lines[i]
        i += 1


def github_anchor(heading):
    """The id GitHub gives a heading (before de-duplication)."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links
    text = text.replace('`', '').strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors_of(path):
    ids, seen = set(), {}
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for _, lang, line in split_code(text):
        if lang is None:
            m = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
            if m:
                base = github_anchor(m.group(1))
                n = seen.get(base, 0)
                seen[base] = n + 1
                ids.add(base if n == 0 else f'{base}-{n}')
    return ids


def links_of(path):
    """``(line_no, target)`` of every inline link and image in prose."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for line_no, lang, line in split_code(text):
        if lang is not None:
            continue
        prose = re.sub(r'`[^`]*`', '', line)  # inline code is no link
        for m in re.finditer(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)', prose):
            yield line_no, m.group(1)
        for m in re.finditer(r'<img[^>]+src="([^"]+)"', prose):
            yield line_no, m.group(1)


def broken_links(path):
    problems = []
    for line_no, target in links_of(path):
        if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, mailto: ...
            continue
        file_part, _, anchor = target.partition('#')
        dest = (
            path if not file_part else osp.normpath(
                osp.join(osp.dirname(path), file_part)))
        where = f'{rel(path)}:{line_no}: {target}'
        if not osp.exists(dest):
            problems.append(f'{where}: {rel(dest)} does not exist')
        elif not dest.startswith(ROOT + os.sep):
            problems.append(f'{where}: points outside the repository')
        elif anchor and dest.endswith('.md') and \
                anchor not in anchors_of(dest):
            problems.append(f'{where}: no heading #{anchor} in {rel(dest)}')
    return problems


# -------------------------------------------------------------- commands --
def shell_commands(path):
    """``(line_no, command)`` of every command line in shell code blocks,
    continuation lines joined and comments removed."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for start, lang, block in split_code(text):
        if lang not in SHELL_LANGS:
            continue
        current, first = '', None
        for offset, line in enumerate(block, start=start + 1):
            line = re.sub(r'(^|\s)#.*$', '', line).rstrip()
            if first is None:
                first = offset
            if line.endswith('\\'):
                current += line[:-1] + ' '
                continue
            current += line
            if current.strip():
                for part in re.split(r'&&|\|\||;|\|', current):
                    part = ' '.join(part.strip().strip('()').split())
                    if part:
                        yield first, part
            current, first = '', None


def drop_synopsis(command):
    """Unwrap ``[--flag X]``; drop ``[CKPT]`` and ``[train.py args]``."""
    pattern = re.compile(r'(?<![^\s\[])\[([^\[\]]*)\]')
    while True:
        new = pattern.sub(
            lambda m: m.group(1)
            if m.group(1).lstrip().startswith('-') else '', command)
        if new == command:
            return command
        command = new


def tool_invocation(tokens):
    """``(tool, argv)`` of a command that runs a ``tools/`` script, or
    None."""
    while tokens and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', tokens[0]):
        tokens = tokens[1:]  # VAR=value prefixes
    for i, tok in enumerate(tokens):
        if re.match(r'^tools/\S+\.(py|sh)$', tok):
            runner = tokens[:i]
            if runner and not re.search(r'(python[\d.]*|bash|sh|\$\w+)$',
                                        runner[-1]):
                return None  # e.g. `git add tools/x.py`: not a run
            return tok, tokens[i + 1:]
    return None


def python_argv(tool, args):
    """The python tool and its argv for a command of ``tool``."""
    if tool == 'tools/dist_train.sh':  # CONFIG GPUS [train.py args]
        return WRAPPERS[tool], args[:1] + args[2:]
    if tool == 'tools/dist_test.sh':  # CONFIG CKPT GPUS [test.py args]
        return WRAPPERS[tool], args[:2] + args[3:]
    if tool == 'tools/slurm_train.sh':  # PARTITION JOB CONFIG WORK_DIR ...
        return WRAPPERS[tool], [
            *args[2:3], '--work-dir', *args[3:4], '--launcher', 'slurm',
            *args[4:]
        ]
    return tool, args


class _Parsed(Exception):

    def __init__(self, namespace):
        super().__init__('parsed')
        self.namespace = namespace


_MODULES = {}


def load_tool(tool):
    if tool not in _MODULES:
        name = '_docs_' + re.sub(r'\W', '_', tool)
        spec = importlib.util.spec_from_file_location(name,
                                                      osp.join(ROOT, tool))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[tool] = module
    return _MODULES[tool]


def parse_with_tool(tool, argv, monkeypatch):
    """Run ``tool`` up to its ``ArgumentParser.parse_args`` and stop.

    Returns None when ``argv`` parses, else the parser's message.
    """
    module = load_tool(tool)
    entry = getattr(module, 'parse_args', None) or getattr(module, 'main')
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    environ = dict(os.environ)  # e.g. finish_args exports LOCAL_RANK
    stderr = io.StringIO()
    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, 'parse_args', parse_and_stop)
        m.setattr(sys, 'argv', [osp.basename(tool), *argv])
        try:
            with contextlib.redirect_stderr(stderr):
                if inspect.signature(entry).parameters:
                    entry(list(argv))
                else:
                    entry()
        except _Parsed:
            return None
        except SystemExit:
            return stderr.getvalue().strip().splitlines()[-1]
        finally:
            os.environ.clear()
            os.environ.update(environ)
    return f'{tool} returned without parsing its arguments'


def command_problems(path, monkeypatch):
    problems = []
    for line_no, command in shell_commands(path):
        where = f'{rel(path)}:{line_no}: {command}'
        try:
            tokens = shlex.split(drop_synopsis(command))
        except ValueError as e:
            problems.append(f'{where}: {e}')
            continue
        tokens = [t for t in tokens if t not in ('...', '…')]
        found = tool_invocation(tokens)
        if found is None:
            continue
        tool, args = found
        if not osp.isfile(osp.join(ROOT, tool)):
            problems.append(f'{where}: {tool} does not exist')
            continue
        missing = [
            a for a in args if re.match(r'^configs/\S+\.py$', a)
            and not osp.isfile(osp.join(ROOT, a))
        ]
        if missing:
            problems.append(f'{where}: no such config {", ".join(missing)}')
        if not tool.endswith('.py') and tool not in WRAPPERS:
            continue  # e.g. tools/setup_env.sh takes no arguments
        py_tool, argv = python_argv(tool, args)
        message = parse_with_tool(py_tool, argv, monkeypatch)
        if message:
            problems.append(f'{where}: {message}')
    return problems


def make_targets():
    with open(osp.join(ROOT, 'Makefile')) as f:
        return set(re.findall(r'^([\w-]+):', f.read(), flags=re.M))


# ----------------------------------------------------------------- tests --
@pytest.mark.parametrize('path', DOC_FILES, ids=rel)
def test_links_and_images_resolve(path):
    assert not broken_links(path), '\n'.join(broken_links(path))


@pytest.mark.parametrize('path', DOC_FILES, ids=rel)
def test_tool_commands_parse_with_the_tools_parsers(path, monkeypatch):
    problems = command_problems(path, monkeypatch)
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('path', DOC_FILES, ids=rel)
def test_make_targets_exist(path):
    targets = make_targets()
    unknown = []
    for line_no, command in shell_commands(path):
        tokens = command.split()
        if tokens and tokens[0] == 'make':
            unknown += [
                f'{rel(path)}:{line_no}: make {t}' for t in tokens[1:]
                if '=' not in t and not t.startswith('-') and t not in targets
            ]
    assert not unknown, '\n'.join(unknown)


def named_paths(path):
    """``(line_no, path)`` of ``configs/...`` and ``tools/...`` paths named
    in inline code of the prose (globs allowed)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    for line_no, lang, line in split_code(text):
        if lang is not None:
            continue
        for code in re.findall(r'`([^`]+)`', line):
            for m in re.finditer(r'(?<![\w/.])((?:configs|tools)/[\w./*-]+)',
                                 code):
                yield line_no, m.group(1).rstrip('.')


@pytest.mark.parametrize('path', DOC_FILES, ids=rel)
def test_named_configs_and_tools_exist(path):
    missing = [
        f'{rel(path)}:{line_no}: {name}' for line_no, name in named_paths(path)
        if not glob.glob(osp.join(ROOT, name))
    ]
    assert not missing, '\n'.join(missing)


def test_checker_finds_the_readme_commands():
    found = {
        tool_invocation(shlex.split(c))[0]
        for _, c in shell_commands(osp.join(ROOT, 'README.md'))
        if tool_invocation(shlex.split(c))
    }
    assert found >= {
        'tools/create_hilda_infos.py', 'tools/dist_train.sh',
        'tools/model_converters/hilda_to_mmdet3d.py', 'tools/dist_test.sh'
    }, found


def test_readme_is_a_front_page():
    with open(osp.join(ROOT, 'README.md'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    assert len(lines) <= 200, f'README.md has {len(lines)} lines (<= 200)'
    assert any(line.strip().startswith('make test') for line in lines)


# ------------------------------------------------- the checker is honest --
def test_checker_reports_a_removed_flag(tmp_path, monkeypatch):
    doc = tmp_path / 'page.md'
    doc.write_text('```bash\n.venv/bin/python tools/train.py \\\n'
                   '    configs/smoke/minkunet18-w8_spconv_1xb2-8iter_smoke-'
                   'semantickitti.py --no-such-flag 3\n'
                   'bash tools/dist_train.sh CONFIG 8 [--amp] '
                   '[train.py args]\n```\n')
    problems = command_problems(str(doc), monkeypatch)
    assert len(problems) == 1, problems
    assert 'unrecognized arguments: --no-such-flag 3' in problems[0]


def test_checker_reports_a_missing_config_and_tool(tmp_path, monkeypatch):
    doc = tmp_path / 'page.md'
    doc.write_text('```bash\npython tools/train.py configs/hilda/nope.py\n'
                   'python tools/no_such_tool.py --x\n```\n')
    problems = command_problems(str(doc), monkeypatch)
    assert any('no such config configs/hilda/nope.py' in p for p in problems)
    assert any('tools/no_such_tool.py does not exist' in p for p in problems)


def test_checker_reports_broken_links_and_anchors(tmp_path):
    os.makedirs(osp.join(ROOT, 'work_dirs'), exist_ok=True)
    doc = osp.join(ROOT, 'work_dirs', f'_test_docs_{os.getpid()}.md')
    with open(doc, 'w') as f:
        f.write('# Title\n\n[ok](../README.md#quick-start) [self](#title)\n'
                '[gone](../docs/nope.md) ![img](../docs/images/nope.png)\n'
                '[bad anchor](../README.md#no-such-heading) `[code](x.md)`\n'
                '```\n[in code](y.md)\n```\n')
    try:
        problems = broken_links(doc)
    finally:
        os.remove(doc)
    assert len(problems) == 3, problems
    assert 'docs/nope.md does not exist' in problems[0]
    assert 'docs/images/nope.png does not exist' in problems[1]
    assert 'no heading #no-such-heading' in problems[2]


def test_checker_reports_a_named_config_that_is_gone(tmp_path):
    doc = tmp_path / 'page.md'
    doc.write_text('| `configs/hilda/ablations/hilda-nope_*` | x |\n'
                   'run `tools/train.py` on `configs/hilda/`\n')
    names = [name for _, name in named_paths(str(doc))]
    assert names == [
        'configs/hilda/ablations/hilda-nope_*', 'tools/train.py',
        'configs/hilda/'
    ]
    assert [n for n in names if not glob.glob(osp.join(ROOT, n))
            ] == ['configs/hilda/ablations/hilda-nope_*']
