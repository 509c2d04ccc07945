"""Root pytest configuration: the suite's command-line options (see benchmarks/), the
checks made before any test runs, and what must happen before TensorFlow loads."""

import os
from pathlib import Path

# Quieter TensorFlow start-up in test logs; must be set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rnn_models.machine.cpu import pin_xdist_worker  # noqa: E402  (TF-free)

# A pytest-xdist worker takes its share of the cores, with TensorFlow's thread pools sized
# to it; this module is imported before any test module imports TensorFlow.
pin_xdist_worker()

import pytest  # noqa: E402

from rnn_models.records.baselines import BASELINE_DIR  # noqa: E402

DIST_INPUT = "rnnbench_dist"  # the controller's --dist, sent to each xdist worker


def pytest_addoption(parser):
    from rnn_models.suite.options import SUITE_OPTIONS, add_options

    group = parser.getgroup("rnnbench", "rnnbench regression suite")
    # The suite's --cells also takes `a b`, and names a bad cell in its own one-line error.
    add_options(group.addoption, *SUITE_OPTIONS,
                cells={"type": str, "nargs": "+", "metavar": "CELL",
                       "help": "registry names to run, as a,b or a b (default: every cell)"})
    parser.addini("rnnbench_fallback_rules", type="linelist", default=[],
                  help="speed rules against the stored run when the A/B cannot run, "
                       "e.g. median:150%")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    # Under -n, tests marked xdist_group(cell) share a worker, so a cell's runs train once.
    # Set here, not in addopts: pytest-benchmark turns itself off whenever --dist is set.
    if getattr(config.option, "numprocesses", None) and getattr(config.option, "dist", "no") == "no":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    # A worker parses the command line again, without the dist chosen above; it must know it
    # to name its tests by group (xdist reads the worker's own `loadgroup` option for that).
    node.workerinput[DIST_INPUT] = node.config.option.dist


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if getattr(config, "workerinput", {}).get(DIST_INPUT) == "loadgroup":
        config.option.loadgroup = True
    # The options' values, output paths and stored inputs are checked in benchmarks/conftest.py.
    _storage_follows_baselines(config)
    if config.getoption("--update-baselines") and hasattr(config.option, "benchmark_save"):
        # The speed run is saved into pytest-benchmark's storage (baselines/benchmarks/) as
        # NNNN_baseline.json, staged with the rest of the update (benchmarks/conftest.py).
        config.option.benchmark_save = config.option.benchmark_save or "baseline"


def _storage_follows_baselines(config):
    """pytest-benchmark's storage (the stored speed runs) is ``<--baselines>/benchmarks``, so
    that a run given another baselines folder reads and writes every baseline there. An
    explicit ``--benchmark-storage`` elsewhere is kept."""
    option = config.option
    if not hasattr(option, "benchmark_storage"):
        return
    baselines = Path(config.getoption("--baselines")).resolve()
    storage = str(option.benchmark_storage)
    default = (BASELINE_DIR / "benchmarks").resolve()
    if baselines != BASELINE_DIR.resolve() and Path(storage.removeprefix("file://")).resolve() == default:
        option.benchmark_storage = f"file://{baselines / 'benchmarks'}"
