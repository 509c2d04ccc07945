"""Root pytest configuration, for every test run in this repository (``tests/`` and
``benchmarks/``): what must happen before TensorFlow loads, and pytest-xdist's grouping. The
regression suite's own wiring is its plugin, ``rnn_models.suite.plugin`` (a ``pytest11``
entry point)."""

import os

# Quieter TensorFlow start-up in test logs; must be set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from rnn_models.machine.cpu import pin_xdist_worker  # noqa: E402  (TF-free)

# A pytest-xdist worker takes its share of the cores, with TensorFlow's thread pools sized
# to it; this module is imported before any test module imports TensorFlow.
pin_xdist_worker()

import pytest  # noqa: E402

DIST_INPUT = "rnnbench_dist"  # the controller's --dist, sent to each xdist worker


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
