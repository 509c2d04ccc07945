"""The import map of ``rnn_models``: no circles, and no import that runs back up the layers
(data -> model -> train -> result -> compare -> plots, with the commands on top). Read from
the source with ``ast``, every import counted, also those inside functions."""

import ast
import sys

import pytest

from tests import ROOT

PACKAGE = ROOT / "rnn_models"

# Each top-level module or sub-package of rnn_models, by layer: a module may import only from
# its own layer or those below it.
LAYERS = [
    # the package's own __init__ only names its lazy attributes: it imports nothing
    {"__init__", "cpu", "paths", "tables", "interrupts", "_atomic", "progress", "cells", "registry",
     "data"},
    {"numerics_pin", "environment", "config", "results"},  # results: the record a run makes
    {"model", "steps", "variants", "tensorboard", "numerics", "tf1_checkpoint"},
    {"train"},
    {"parallel", "baseline"},
    {"suite", "suite_baselines", "options"},
    {"regression"},
    {"speed"},
    {"plots", "gpu_report", "history"},  # gpu_report: the GPU check's record and page; history: the pages of the stored history and of a run
    {"suite_runs", "suite_session", "references", "bisect", "device_accuracy", "cli", "__main__"},
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
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer(graph):
    assert sorted({top(m) for m in graph} - set(LAYER)) == []


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
