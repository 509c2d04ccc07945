"""Fixtures of the regression suite. They only wire ``rnn_models`` together: which cells
and devices, the real MNIST once per session, each cell's training run once per session."""

import pytest
import tensorflow as tf

from rnn_models import REGISTRY
from rnn_models.data import load_mnist
from rnn_models.suite import matrix_cells

GPUS = tf.config.list_logical_devices("GPU")
RUNS = pytest.StashKey[dict]()  # this session's matrix runs, for the terminal summary


def selected(config, names):
    """``names`` filtered by ``--cells``; an unknown name there is an error."""
    option = config.getoption("--cells")
    if not option:
        return list(names)
    wanted = [n.strip() for n in option.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise pytest.UsageError(f"--cells: unknown {', '.join(unknown)}; valid: {', '.join(REGISTRY)}")
    return [n for n in names if n in wanted]


def pytest_generate_tests(metafunc):
    # One parametrisation over the registry: no list of names written twice.
    if "cell" in metafunc.fixturenames:
        names = REGISTRY if "all_cells" in metafunc.fixturenames else matrix_cells()
        metafunc.parametrize("cell", selected(metafunc.config, names))
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", [
            "CPU:0",
            pytest.param("GPU:0", marks=[pytest.mark.gpu, pytest.mark.skipif(
                not GPUS, reason="TensorFlow sees no GPU on this machine")]),
        ])


@pytest.fixture(scope="session")
def matrix_cells_selected(pytestconfig):
    """The tutorial's cells this session runs (``--cells`` applied)."""
    return selected(pytestconfig, matrix_cells())


def pytest_terminal_summary(terminalreporter, config):
    """The matrix's wall time, input share and peak memory, whenever its runs happened."""
    runs = config.stash.get(RUNS, None)
    if runs:
        from rnn_models.suite import format_budget, matrix_budget

        terminalreporter.write_line(format_budget(matrix_budget(runs)))


@pytest.fixture(scope="session")
def all_cells():
    """Requesting this widens ``cell`` from the tutorial's five to every registry entry."""
    return list(REGISTRY)


@pytest.fixture(scope="session")
def baseline_dir(pytestconfig):
    from pathlib import Path

    return Path(pytestconfig.getoption("--baselines"))


@pytest.fixture(scope="session")
def update_baselines(pytestconfig):
    return pytestconfig.getoption("--update-baselines")


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, verified (``$RNN_MODELS_MNIST``, Keras' cache, or a download)."""
    return load_mnist()


@pytest.fixture(scope="session")
def session_results(pytestconfig):
    """RunResults and speed rows of this session, for ``--plots``."""
    store = {"runs": {}, "speed": []}
    pytestconfig.stash[RUNS] = store["runs"]
    yield store
    plots = pytestconfig.getoption("--plots")
    if plots:
        from rnn_models.plots import plot_all

        plot_all(pytestconfig.getoption("--baselines"), plots, results=store["runs"] or None,
                 speed_rows=store["speed"] or None)


@pytest.fixture(scope="session")
def sequence_data(mnist):
    """``sequence_data(config) -> SequenceData`` shaped for the config, made once each."""
    from rnn_models.train import prepare_for

    prepared = {}

    def get(config):
        key = (config.task, config.split, config.standardize)
        if key not in prepared:
            prepared[key] = prepare_for(config, mnist)
        return prepared[key]

    return get


@pytest.fixture(scope="session")
def matrix_run(pytestconfig, sequence_data, session_results):
    """``matrix_run(cell) -> RunResult``: the cell's suite run, trained once per session."""
    from rnn_models.suite import matrix_config
    from rnn_models.train import train_and_evaluate

    epochs = pytestconfig.getoption("--epochs")

    def run(cell):
        if cell not in session_results["runs"]:
            config = matrix_config(cell) if epochs is None else matrix_config(cell, epochs)
            session_results["runs"][cell] = train_and_evaluate(config, sequence_data(config))
        return session_results["runs"][cell]

    return run


@pytest.fixture(scope="session")
def stored_speed_run(pytestconfig):
    """``{test name: extra_info}`` of the newest stored speed run for this machine, the
    one ``--benchmark-compare`` compares against ({} when there is none)."""
    import json
    from pathlib import Path

    from pytest_benchmark.utils import get_machine_id

    storage = Path(str(pytestconfig.option.benchmark_storage).removeprefix("file://"))
    runs = sorted((storage / get_machine_id()).glob("[0-9][0-9][0-9][0-9]_*.json"))
    if not runs:
        return {}
    return {b["name"]: b["extra_info"] for b in json.loads(runs[-1].read_text())["benchmarks"]}


@pytest.fixture(scope="session")
def torch_ratio_gate(pytestconfig):
    """How much a cell's ratio_to_torch may grow over the stored run's (pyproject.toml)."""
    value = pytestconfig.getini("rnnbench_torch_ratio_gate")
    return float(value) if value else None
