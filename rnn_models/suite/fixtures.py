"""The suite's pytest fixtures, registered by its plugin (``rnn_models.suite.plugin``) only in a
session that runs the suite: the data, this process's training runs (``rnn_models.suite.runs``
through one executor, ``rnn_models.executors``), the speed gate, and what a test reports.

A test reports through pytest's ``user_properties`` (``rnn_models.suite.session``): a RunResult
or an accuracy verdict goes as its dict, the one form that crosses from a pytest-xdist worker to
the controller; the controller's session reads it back as the object."""

from pathlib import Path

import pytest

from rnn_models.registry import REGISTRY
from rnn_models.suite.plugin_state import (GATED, MATRIX, PLANNED, RAY_ADDRESS, SESSION, SPEED_GATE, speed_gate_on,
                                           speed_storage, updating)
from rnn_models.suite.session import ACCURACY, NUMERICS, RUN


@pytest.fixture(scope="session")
def all_cells():
    """Requesting this widens ``cell`` from the tutorial's five to every registry entry."""
    return list(REGISTRY)


@pytest.fixture(scope="session")
def baseline_dir(pytestconfig):
    return Path(pytestconfig.getoption("--baselines"))


@pytest.fixture(scope="session")
def update_baselines(pytestconfig):
    return updating(pytestconfig)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST, verified (``$RNN_MODELS_MNIST``, Keras' cache, or a download), once
    per process."""
    from rnn_models.executors import local

    return local.mnist()


@pytest.fixture(scope="session")
def speed_results(pytestconfig):
    """This process's SpeedResults, drawn by ``--plots``."""
    return pytestconfig.stash[SESSION].speed_results


@pytest.fixture(scope="session")
def sequence_data(mnist):
    """``sequence_data(config) -> SequenceData`` shaped for the config, made once per process."""
    from rnn_models.executors import local

    return local.prepared_for


@pytest.fixture(scope="session")
def matrix(pytestconfig):
    """This process's suite runs (``rnn_models.suite.runs.MatrixRuns``), trained under the
    numerics pin by its executor: with ``--ray-address``, the Ray cluster; else worker
    processes on this machine, one per usable core (an xdist worker's one, on its own cores),
    so the pytest process's own TensorFlow stays unpinned for the speed steps and its memory
    its own for the budget. A plain session trains every planned cell's seed 0 at once."""
    from rnn_models.executors import open_executor
    from rnn_models.suite.runs import MatrixRuns
    from rnn_models.suite.stored_inputs import expected_run_seconds

    def start():
        return open_executor(pytestconfig.stash[RAY_ADDRESS],
                             processes=1 if hasattr(pytestconfig, "workerinput") else None,
                             expected_s=expected_run_seconds(pytestconfig.getoption("--baselines")))

    runs = pytestconfig.stash[MATRIX] = MatrixRuns(start, pytestconfig.getoption("--epochs"),
                                                   pytestconfig.stash.get(PLANNED, []))
    yield runs
    runs.close()


@pytest.fixture(scope="session", autouse=True)
def matrix_in_background(pytestconfig, request):
    """A plain session starts training its planned seed-0 runs before its first test, so the
    tests that need none of them (ordered first by the plugin) run while they train: CPU that
    the numerics cases in this process leave idle. A session that also gates speed with the
    A/B starts the A/B's workers while it waits for the last of those runs (a core is free
    then), not after them."""
    if pytestconfig.stash.get(PLANNED, None):
        runs = request.getfixturevalue("matrix")
        runs.start()
        if pytestconfig.stash.get(GATED, 0) and speed_gate_on(pytestconfig) and not pytestconfig.option.no_ab:
            gate, batch = request.getfixturevalue("speed_gate"), request.getfixturevalue("speed_batch")
            runs.while_waiting = lambda: gate.start(batch)


@pytest.fixture(scope="session")
def matrix_run(matrix):
    """``matrix_run(cell, seed=0) -> RunResult``: the cell's suite run, trained once per process."""
    return matrix.run


@pytest.fixture(scope="session")
def matrix_runs(matrix):
    """``matrix_runs(cell, seeds) -> [RunResult]``: seeds of the cell's suite run, side by side."""
    return matrix.runs


@pytest.fixture
def report_run(record_property):
    """``report_run(result)``: sends a RunResult to the controller (summary, update)."""
    reported = set()

    def report(result):
        key = (result.cell, result.config.seed)
        if key not in reported:
            reported.add(key)
            record_property(RUN, result.to_dict())

    return report


@pytest.fixture
def report_accuracy(record_property):
    """``report_accuracy(outcome)``: a cell's AccuracyOutcome, as data, for the terminal
    summary and the run's page (which render it)."""
    return lambda outcome: record_property(ACCURACY, outcome.to_dict())


@pytest.fixture
def report_numerics(record_property):
    return lambda case, outcome: record_property(NUMERICS, {case: outcome})


@pytest.fixture(scope="session")
def speed_batch(sequence_data):
    """One batch of real MNIST rows: x [128, 28, 28] float32, y [128] int32, the speed steps' input."""
    from rnn_models.config import TUTORIAL
    from rnn_models.speed import ab

    return ab.real_batch(sequence_data(TUTORIAL))


@pytest.fixture(scope="session")
def real_batch(speed_batch, pytestconfig):
    """``speed_batch``, for the timed steps: the executor's workers end first, so nothing else
    runs while steps are timed."""
    if MATRIX in pytestconfig.stash:
        pytestconfig.stash[MATRIX].close()  # started again if a later test trains
    return speed_batch


@pytest.fixture(scope="session")
def gemm_rate():
    """FLOP/s of the tutorial's gate matmul for all 28 steps at once, [128*28, 59] @ [59, 124]:
    the throughput this machine reaches at these sizes, measured once per session."""
    from rnn_models.config import TUTORIAL
    from rnn_models.speed.timing import matmul_rate

    rates = {}

    def get(device):
        if device not in rates:
            c = TUTORIAL
            rates[device] = matmul_rate(c.batch_size * 28, 28 + c.units, 4 * c.units, device)
        return rates[device]

    return get


@pytest.fixture(scope="session")
def speed_gate(pytestconfig):
    """The speed gate under ``--benchmark-compare`` (A/B, or the fallback rules), else None."""
    option = pytestconfig.option
    if not speed_gate_on(pytestconfig):
        yield None
        return
    from rnn_models.regression.rules import parse_rule
    from rnn_models.speed.gate import SpeedGate

    rules = [parse_rule(text) for text in pytestconfig.getini("rnnbench_fallback_rules")]
    gate = SpeedGate(speed_storage(pytestconfig), pytestconfig.getoption("--baselines"), rules,
                     family_size=pytestconfig.stash.get(GATED, 1), ref=option.ab_ref,
                     ab=not option.no_ab)
    pytestconfig.stash[SPEED_GATE] = gate
    yield gate
    gate.close()
