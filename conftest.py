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
    parser.addini("rnnbench_torch_ratio_gate", default="",
                  help="the most a cell's ratio_to_torch may grow over the stored run's")
    parser.addini("rnnbench_compare_fail", type="linelist", default=[],
                  help="the speed gate: --benchmark-compare-fail expressions applied by "
                       "--benchmark-compare")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Updating baselines saves the speed run into pytest-benchmark's storage (baselines/),
    # as NNNN_baseline.json, the newest of which --benchmark-compare compares against.
    if config.getoption("--update-baselines", default=False) and hasattr(config.option, "benchmark_save"):
        config.option.benchmark_save = config.option.benchmark_save or "baseline"
    _install_speed_gate(config)


def _install_speed_gate(config):
    """``--benchmark-compare`` gets the project's ``--benchmark-compare-fail`` threshold.

    Set here rather than in addopts because pytest-benchmark refuses a compare-fail
    without a stored run to compare with; then the gate is off, with a warning naming the
    folder, so that a new machine kind can still run the suite and record its baseline.
    """
    option = config.option
    if not getattr(option, "benchmark_compare", None) or option.benchmark_compare_fail:
        return
    from pathlib import Path

    from pytest_benchmark.utils import get_machine_id, parse_compare_fail

    storage = Path(str(option.benchmark_storage).removeprefix("file://")) / get_machine_id()
    if not any(storage.glob("*.json")):
        config.issue_config_time_warning(pytest.PytestWarning(
            f"speed gate off: no stored speed run in {storage} for this machine; record one "
            "with --update-baselines"), stacklevel=2)
        return
    option.benchmark_compare_fail = [parse_compare_fail(e) for e in config.getini("rnnbench_compare_fail")]
