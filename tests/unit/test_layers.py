"""The import map of ``rnn_models``: no circles, and no import that runs back up the layers
(data -> machine -> records -> training -> executors -> suite -> speed -> plots, with the
commands on top). Read from the source with ``ast``, every import counted, also those inside
functions."""

import ast
import sys

import pytest

from tests import ROOT

PACKAGE = ROOT / "rnn_models"

# Each top-level module or sub-package of rnn_models, by layer: a module may import only from
# its own layer or those below it. A package sits on one layer, except the modules named
# `package.module` here: those sit on their own layer (the package's commands and top-level
# wiring, above what the rest of the package is used by).
LAYERS = [
    # the package's own __init__ only names its lazy attributes: it imports nothing
    {"__init__", "git", "tables", "cells", "registry", "data"},
    {"config", "machine", "regression"},  # regression: the gates' decision rules
    {"records"},  # what is stored on disk: results, baselines, speed runs, calibrations
    {"training"},
    {"executors"},
    {"suite"},  # the suite's matrix, options, runs and stored-input checks
    {"speed"},
    {"plots", "history"},  # history: the pages of the stored history and of a run
    # the commands and the suite session on top
    {"suite.session", "suite.plugin", "suite.fixtures", "records.references", "regression.device_accuracy",
     "selfcheck", "bisect", "commands", "__main__"},
]
LAYER = {name: k for k, names in enumerate(LAYERS) for name in names}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, modules):
    """The rnn_models modules that ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names]
            if not any(t in modules for t in targets):  # names from the module, not submodules
                targets = [base]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


@pytest.fixture(scope="module")
def graph():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, paths) for name, path in paths.items()}


def top(name):
    """The key of LAYERS that places module ``name``: ``package.module`` if listed, else its
    top-level module or package."""
    parts = name.split(".")
    if len(parts) > 2 and ".".join(parts[1:3]) in LAYER:
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer(graph):
    assert sorted({top(m) for m in graph} - set(LAYER)) == []


def test_every_layer_names_a_module(graph):
    named = {top(m) for m in graph}
    assert sorted(set(LAYER) - named) == []


def test_no_import_runs_back_up_the_layers(graph):
    upward = [f"{a} -> {b}" for a, targets in graph.items() for b in targets
              if LAYER[top(b)] > LAYER[top(a)]]
    assert upward == []


def test_no_circles(graph):
    sys.setrecursionlimit(10_000)
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []
