"""Root pytest configuration: the suite's command-line options (see benchmarks/)."""

import os

# Quieter TensorFlow start-up in test logs; must be set before TensorFlow is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


def pytest_addoption(parser):
    group = parser.getgroup("rnnbench", "rnnbench regression suite")
    group.addoption("--cells", default=None,
                    help="comma-separated registry names to run (default: every cell)")
    group.addoption("--epochs", type=int, default=None,
                    help="epochs of the accuracy runs (default: the tutorial's 10; a baseline "
                         "made with other epochs is refused)")
    group.addoption("--update-baselines", action="store_true",
                    help="rewrite baselines/ from this run (accuracy JSON, numerics outcomes "
                         "and, with pytest-benchmark's autosave, the speed baseline)")
    group.addoption("--plots", default=None, metavar="DIR",
                    help="after the run, draw learning-curve, speed and baseline plots into DIR")
    group.addoption("--baselines", default="baselines", metavar="DIR",
                    help="baseline folder (default: baselines)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Updating baselines saves the speed run into pytest-benchmark's storage (baselines/),
    # as NNNN_baseline.json, the newest of which --benchmark-compare compares against.
    if config.getoption("--update-baselines", default=False) and hasattr(config.option, "benchmark_save"):
        config.option.benchmark_save = config.option.benchmark_save or "baseline"
