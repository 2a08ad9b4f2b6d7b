# Copyright (c) HilDA authors. All rights reserved.
"""Who may import whom, read from the source with ``ast`` (nothing is run).

- The plugin's layers (``projects/HilDA/hilda/``) import only downwards
  (:data:`ALLOWED`), never themselves back through others, and nothing of
  ``analysis/``, ``demo_world/``, ``tools/`` or ``tests/``.
- ``demo_world/`` imports only itself and the plugin; ``analysis/`` only
  itself, the plugin and ``demo_world/``; neither imports tools or tests.
- ``tools/`` stay thin: from the plugin they import the package itself
  (it registers the modules), ``hilda.apis`` and ``hilda.errors``
  freely, and from any other plugin module only public names (listed in
  its ``__all__`` where it has one, never a ``_name``); ``analysis/`` and
  ``demo_world/`` freely; never ``tests/`` or another tool. Tests load
  no benchmark tool as a module (its library is in ``analysis/``).

Every import inside the project (``projects.``, ``tools.``, ``tests.``,
relative) must resolve to a file: an import the checker cannot resolve
fails the test instead of being dropped.
"""
import ast
import os
import os.path as osp
from typing import List, NamedTuple, Optional

from tests.conftest import REPO_ROOT

PACKAGE = 'projects.HilDA.hilda'
ANALYSIS = 'projects.HilDA.analysis'
DEMO_WORLD = 'projects.HilDA.demo_world'
INTERNAL = ('projects', 'tools', 'tests')
# Plugin modules a tool may import anything from.
TOOLS_FREE = (PACKAGE + '.apis', PACKAGE + '.errors', ANALYSIS, DEMO_WORLD)

# What each layer (a top-level module or subpackage of the plugin) may
# import besides itself; lower layers first.
ALLOWED = {
    'errors': set(),
    'version': set(),
    'structures': {'errors'},
    'utils': {'errors'},
    'checkpoints': {'errors', 'utils'},
    'datasets': {'errors', 'structures', 'utils'},
    'models': {'errors', 'structures', 'utils'},
    'evaluation': {'errors', 'structures', 'utils', 'datasets'},
    'engine': {'errors', 'structures', 'utils', 'checkpoints', 'datasets'},
    'apis': {
        'errors', 'structures', 'utils', 'checkpoints', 'datasets', 'models',
        'evaluation', 'engine'
    },
}


class Import(NamedTuple):
    """One imported thing: ``module`` (dotted, resolved to a file) and the
    ``name`` taken from it (None: the module itself)."""
    line: int
    module: str
    name: Optional[str]


def module_path(dotted: str, root: str = REPO_ROOT) -> Optional[str]:
    """The file of a dotted module below ``root``, or None."""
    base = osp.join(root, *dotted.split('.'))
    for path in (base + '.py', osp.join(base, '__init__.py')):
        if osp.isfile(path):
            return path
    return None


def dotted_name(path: str, root: str = REPO_ROOT) -> str:
    parts = osp.relpath(path, root)[:-3].split(os.sep)
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def python_files(*folders: str, root: str = REPO_ROOT):
    for folder in folders:
        for here, _, files in os.walk(osp.join(root, folder)):
            for name in sorted(files):
                if name.endswith('.py'):
                    yield osp.join(here, name)


def project_imports(path: str, root: str = REPO_ROOT):
    """``(imports, unresolved)`` of the project's own modules in ``path``:
    absolute and relative, each resolved to a file; ``unresolved`` lists
    what could not be (``'file:line: target'``)."""
    name = dotted_name(path, root)
    package = name.split('.')
    if not path.endswith('__init__.py'):
        package = package[:-1]
    rel = osp.relpath(path, root)
    found, unresolved = [], []

    def add(line: int, module: str, names) -> None:
        if module.split('.')[0] not in INTERNAL:
            return  # a third-party or standard module
        if names is None:  # import a.b.c
            if module_path(module, root):
                found.append(Import(line, module, None))
            else:
                unresolved.append(f'{rel}:{line}: {module}')
            return
        for alias in names:
            sub = f'{module}.{alias}'
            if module_path(sub, root):  # from a.b import module
                found.append(Import(line, sub, None))
            elif module_path(module, root):  # from a.b import name
                found.append(Import(line, module, alias))
            else:
                unresolved.append(f'{rel}:{line}: {sub}')

    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = '.'.join(base +
                                  ([node.module] if node.module else []))
            else:
                module = node.module
            add(node.lineno, module, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                add(node.lineno, alias.name, None)
    return found, unresolved


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + '.')


def public_names(module: str, root: str = REPO_ROOT) -> Optional[set]:
    """A module's ``__all__`` when it states one as a literal, else None."""
    tree = ast.parse(open(module_path(module, root)).read())
    for node in tree.body:
        if (isinstance(node, ast.Assign)
                and getattr(node.targets[0], 'id', None) == '__all__'):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return None
    return None


def rule_problems(path: str, imp: Import, root: str = REPO_ROOT) -> List[str]:
    """What is wrong with one import of the project's own code."""
    source = dotted_name(path, root)
    where = f'{osp.relpath(path, root)}:{imp.line}: {imp.module}' + (
        f'.{imp.name}' if imp.name else '')
    target = imp.module
    if under(source, PACKAGE):
        if not under(target, PACKAGE):
            return [f'{where}: the plugin imports only itself']
        layer = source[len(PACKAGE) + 1:].split('.')[0]
        dep = target[len(PACKAGE) + 1:].split('.')[0]
        if not layer or not dep or dep == layer:
            return []  # the package __init__ imports every layer
        if layer not in ALLOWED:
            return [f'{where}: layer {layer} has no rule here']
        if dep not in ALLOWED[layer]:
            return [f'{where}: {layer} may not import {dep}']
        return []
    if under(source, DEMO_WORLD):
        if not (under(target, DEMO_WORLD) or under(target, PACKAGE)):
            return [f'{where}: demo_world imports only itself and hilda']
        return []
    if under(source, ANALYSIS):
        if not any(under(target, p) for p in (ANALYSIS, PACKAGE, DEMO_WORLD)):
            return [
                f'{where}: analysis imports only itself, hilda and '
                'demo_world'
            ]
        return []
    if under(source, 'tools'):
        if any(under(target, p) for p in TOOLS_FREE):
            return []
        if target == PACKAGE and imp.name is None:
            return []  # registers the plugin's modules
        if under(target, PACKAGE) and imp.name is not None:
            public = public_names(target, root)
            if imp.name.startswith('_') or (public is not None
                                            and imp.name not in public):
                return [f'{where}: not a public name of {target}']
            return []
        return [
            f'{where}: tools import hilda.apis, hilda.errors, analysis, '
            'demo_world and public names of hilda modules only'
        ]
    return []


def check_tree(folders, root: str = REPO_ROOT) -> List[str]:
    """Every problem of the files below ``folders``: rule violations and
    unresolvable imports."""
    problems = []
    for path in python_files(*folders, root=root):
        found, unresolved = project_imports(path, root)
        problems += [f'{u}: cannot be resolved' for u in unresolved]
        for imp in found:
            problems += rule_problems(path, imp, root)
    return problems


CHECKED = ('projects/HilDA', 'tools')


def test_plugin_analysis_demo_world_and_tools_import_by_their_rules():
    problems = check_tree(CHECKED)
    assert not problems, 'imports against the layering:\n' + '\n'.join(
        problems)


def test_tests_resolve_their_project_imports_and_load_no_benchmark():
    """Library code of a benchmark lives in ``analysis/``: a test imports
    it from there, never from ``tools/benchmarks/*.py``."""
    unresolved, benchmarks = [], []
    for path in python_files('tests'):
        unresolved += project_imports(path)[1]
        if path != osp.abspath(__file__) and \
                "load_tool('benchmarks/" in open(path).read():
            benchmarks.append(path)
    assert not unresolved, 'cannot be resolved:\n' + '\n'.join(unresolved)
    assert not benchmarks, f'tests loading a benchmark tool: {benchmarks}'


def plugin_graph():
    """``{module: {plugin modules it imports}}`` of the plugin."""
    graph = {}
    for path in python_files(osp.join(*PACKAGE.split('.'))):
        graph[dotted_name(path)] = {
            imp.module
            for imp in project_imports(path)[0] if under(imp.module, PACKAGE)
        }
    return graph


def test_no_import_cycles():
    graph = plugin_graph()
    # A package's __init__ importing its own modules is how packages work;
    # a cycle needs a module that imports something leading back to it.
    edges = {
        n: {d
            for d in deps if not under(n, d)}
        for n, deps in graph.items()
    }
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    assert not cycles, f'import cycles: {cycles}'


def write(root, rel, text=''):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def fake_tree(tmp_path):
    """A tiny copy of the layout: plugin layers, analysis, one tool."""
    for pkg in ('projects', 'projects/HilDA', 'projects/HilDA/hilda',
                'projects/HilDA/hilda/models', 'projects/HilDA/hilda/utils',
                'projects/HilDA/hilda/models/heads',
                'projects/HilDA/analysis'):
        write(tmp_path, pkg + '/__init__.py')
    write(tmp_path, 'projects/HilDA/hilda/models/heads/head.py',
          'def build():\n    pass\n\n\ndef _private():\n    pass\n')
    write(tmp_path, 'projects/HilDA/hilda/models/heads/__init__.py',
          "from .head import build\n\n__all__ = ['build']\n")
    return tmp_path


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    """The rules are only as good as the parser: a relative import two
    levels up, an absolute one and a sibling must all be found."""
    root = fake_tree(tmp_path)
    path = write(
        root, 'projects/HilDA/hilda/utils/mod.py',
        'from ..models.heads import build\n'
        'import projects.HilDA.hilda.models.heads.head\n'
        'from . import sibling\n'
        'import numpy\n')
    write(root, 'projects/HilDA/hilda/utils/sibling.py')
    found, unresolved = project_imports(path, str(root))
    assert {(i.module, i.name)
            for i in found} == {('projects.HilDA.hilda.models.heads', 'build'),
                                ('projects.HilDA.hilda.models.heads.head',
                                 None),
                                ('projects.HilDA.hilda.utils.sibling', None)}
    assert not unresolved
    # utils may not import models (an upward import)
    assert check_tree(['projects'], str(root)) == [
        f'{osp.join("projects/HilDA/hilda/utils/mod.py")}:{n}: '
        f'{target}: utils may not import models'
        for n, target in ((1, 'projects.HilDA.hilda.models.heads.build'),
                          (2, 'projects.HilDA.hilda.models.heads.head'))
    ]


def test_an_unresolvable_project_import_fails(tmp_path):
    root = fake_tree(tmp_path)
    write(root, 'projects/HilDA/hilda/utils/mod.py',
          'from projects.HilDA.hilda.modles import heads\n')
    problems = check_tree(['projects'], str(root))
    assert len(problems) == 1
    assert 'hilda.modles.heads: cannot be resolved' in problems[0]


def test_plugin_importing_analysis_and_tool_importing_privates_fail(tmp_path):
    root = fake_tree(tmp_path)
    write(root, 'projects/HilDA/hilda/models/uses_analysis.py',
          'from projects.HilDA.analysis import x\n')
    write(
        root, 'tools/thick.py',
        'from projects.HilDA.hilda.models.heads import build\n'
        'from projects.HilDA.hilda.models.heads.head import _private\n'
        'from projects.HilDA.hilda.models.heads.head import build\n'
        'from projects.HilDA.hilda.models.heads import head\n'
        'from projects.HilDA.analysis import anything\n')
    problems = check_tree(['projects', 'tools'], str(root))
    assert len(problems) == 3, problems
    assert 'uses_analysis.py:1: projects.HilDA.analysis.x: the plugin ' \
        'imports only itself' in problems[0]
    assert 'thick.py:2:' in problems[1] and 'not a public name' in problems[1]
    # a whole module is not a name: the tool reaches into the plugin
    assert 'thick.py:4:' in problems[2]
