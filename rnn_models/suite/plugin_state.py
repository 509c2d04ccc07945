"""What the suite's pytest plugin (``rnn_models.suite.plugin``) keeps on pytest's config, and
what it reads from it: its stash keys, whether this session runs the suite at all, and the
options' meaning (an update, the speed gate, pytest-xdist). Shared by the plugin's hooks and
its fixtures (``rnn_models.suite.fixtures``)."""

from pathlib import Path

import pytest

SUITE_INI = "rnnbench_suite"  # the ini's list of the suite's test folders: the plugin works only there

ACTIVE = pytest.StashKey[list]()  # the suite's folders when this session runs them (else unset)
SESSION = pytest.StashKey[object]()  # rnn_models.suite.session.SuiteSession of this process
SPEED_GATE = pytest.StashKey[object]()
TRANSACTION = pytest.StashKey[object]()  # the update's staged files (--update-baselines)
UPDATE_LOCK = pytest.StashKey[object]()  # the baselines folder's lock, held by an update
STOP_HANDLERS = pytest.StashKey[object]()  # the signal handlers to restore at the end
SELECTED = pytest.StashKey[list]()  # --cells, parsed (None: every cell)
GATED = pytest.StashKey[int]()  # the speed steps this session gates, for the A/B's correction
RAY_ADDRESS = pytest.StashKey[object]()  # --ray-address or $RNN_MODELS_RAY_ADDRESS, checked (None: local)
PLANNED = pytest.StashKey[list]()  # the cells whose seed-0 run this session's tests need
MATRIX = pytest.StashKey[object]()  # this process's MatrixRuns, once started


def suite_folders(config):
    """The suite's folders that this session's arguments reach (a folder of the suite, a file
    or test in one, or a folder above one), resolved; empty when it runs none of them, or in
    a project whose ini names none (the plugin then does nothing)."""
    folders = [Path(p).resolve() for p in config.getini(SUITE_INI)]
    here = config.invocation_params.dir
    reached = []
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        reached += [f for f in folders if f == path or f in path.parents or path in f.parents]
    return list(dict.fromkeys(reached))


def active(config):
    """True when this session runs the suite (``rnn_models.suite.plugin``'s configure said so)."""
    return bool(config.stash.get(ACTIVE, None))


def in_suite(config, path):
    """True when ``path`` (a test file) lies in one of the suite's folders of this session."""
    path = Path(path).resolve()
    return any(f == path or f in path.parents for f in config.stash.get(ACTIVE, None) or ())


def xdist(config):
    """True in a pytest-xdist session: its controller or one of its workers."""
    distributed = bool(getattr(config.option, "tx", None)) and getattr(config.option, "dist", "no") != "no"
    return hasattr(config, "workerinput") or distributed


def updating(config):
    return config.getoption("--update-baselines")


def speed_gate_on(config):
    """True when this session gates speed (``--benchmark-compare`` or ``--ab-ref``, no update)."""
    option = config.option
    return not updating(config) and bool(getattr(option, "benchmark_compare", None) or option.ab_ref)


def speed_storage(config):
    """pytest-benchmark's folder of stored speed runs (``<--baselines>/benchmarks`` unless
    ``--benchmark-storage`` names another), None without pytest-benchmark."""
    storage = getattr(config.option, "benchmark_storage", None)
    return None if storage is None else str(storage).removeprefix("file://")


def selected(config, names):
    """``names`` that ``--cells`` selected, in their order."""
    wanted = config.stash.get(SELECTED, None)
    return [n for n in names if wanted is None or n in wanted]
