# Copyright (c) HilDA authors. All rights reserved.
"""The plugin's layers import only downwards, and no module imports itself
back through others (read from the source with ``ast``; nothing is run)."""
import ast
import os
import os.path as osp

from tests.conftest import REPO_ROOT

PACKAGE = 'projects.HilDA.hilda'
ROOT = osp.join(REPO_ROOT, *PACKAGE.split('.'))

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


def module_names():
    """Dotted names (below the plugin) of every module, with its path."""
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith('.py'):
                continue
            rel = osp.relpath(osp.join(folder, name), ROOT)[:-3]
            parts = rel.split(os.sep)
            is_package = parts[-1] == '__init__'
            if is_package:
                parts = parts[:-1]
            yield '.'.join(parts), osp.join(folder, name), is_package


def imported_modules(name, path, is_package):
    """Plugin modules that ``name`` imports (dotted, below the plugin)."""
    package = name.split('.') if is_package else name.split('.')[:-1]
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split('.') if node.module else [])
            elif (node.module or '').startswith(PACKAGE):
                target = node.module[len(PACKAGE) + 1:].split('.')
            else:
                continue
            target = [p for p in target if p]
            if node.module is None:  # from . import a, b
                found.update('.'.join(target + [a.name]) for a in node.names)
            else:
                found.add('.'.join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + '.'):
                    found.add(alias.name[len(PACKAGE) + 1:])
    return found


def import_graph():
    modules = {n: (p, pkg) for n, p, pkg in module_names()}
    graph = {}
    for name, (path, is_package) in modules.items():
        deps = set()
        for target in imported_modules(name, path, is_package):
            # 'a.b.c' may be a module or a name in module 'a.b'.
            while target and target not in modules:
                target = target.rpartition('.')[0]
            if target and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def test_layers_import_only_downwards():
    wrong = []
    for name, deps in import_graph().items():
        if not name:
            continue  # the package __init__ imports every layer
        layer = name.split('.')[0]
        allowed = ALLOWED.get(layer)
        assert allowed is not None, f'{name}: layer {layer} has no rule here'
        allowed = allowed | {layer}
        for dep in deps:
            if dep and dep.split('.')[0] not in allowed:
                wrong.append(f'{name} -> {dep}')
    assert not wrong, 'imports against the layering:\n' + '\n'.join(wrong)


def test_no_import_cycles():
    graph = import_graph()
    # A package's __init__ importing its own modules is how packages work;
    # a cycle needs a module that imports something leading back to it.
    edges = {
        n: {d
            for d in deps if not (n.startswith(d + '.') or d == '')}
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


def test_the_checker_sees_relative_and_absolute_imports(tmp_path):
    """The rules above are only as good as the parser: a relative import
    two levels up and an absolute one must both be found."""
    path = tmp_path / 'mod.py'
    path.write_text('from ...models.heads import x\n'
                    f'import {PACKAGE}.engine.hooks\n'
                    'from . import sibling\n')
    found = imported_modules('structures.sub.mod', str(path), False)
    assert found == {'models.heads', 'engine.hooks', 'structures.sub.sibling'}
