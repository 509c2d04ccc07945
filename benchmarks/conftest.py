"""The regression suite's pytest wiring, over ``rnn_models``: its fixtures and hooks only.

What a session runs and keeps lives in the library: the runs (``rnn_models.suite.runs``,
through one executor per process, ``rnn_models.executors``), the checks of its options and
stored inputs, what the tests reported, the update's commit and the summary
(``rnn_models.suite.session``). Under pytest-xdist the tests spread over the workers (one
``xdist_group`` per cell, so a cell's runs share a worker, the costliest cells first), and
each test reports its results through ``user_properties``, so the controller sees every run,
whichever host ran it.
"""

from pathlib import Path

import pytest

from rnn_models.registry import REGISTRY
from rnn_models.suite.matrix import baseline_seeds, matrix_cells
from rnn_models.suite.session import ACCURACY, NUMERICS, RUN

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


def _xdist(config):
    """True in a pytest-xdist session: its controller or one of its workers."""
    distributed = bool(getattr(config.option, "tx", None)) and getattr(config.option, "dist", "no") != "no"
    return hasattr(config, "workerinput") or distributed


def _update(config):
    return config.getoption("--update-baselines")


def _speed_gate_on(config):
    """True when this session gates speed (``--benchmark-compare`` or ``--ab-ref``, no update)."""
    option = config.option
    return not _update(config) and bool(getattr(option, "benchmark_compare", None) or option.ab_ref)


def _speed_storage(config):
    """pytest-benchmark's folder of stored speed runs (``<--baselines>/benchmarks`` unless
    ``--benchmark-storage`` names another), None without pytest-benchmark."""
    storage = getattr(config.option, "benchmark_storage", None)
    return None if storage is None else str(storage).removeprefix("file://")


def _selected(config, names):
    wanted = config.stash.get(SELECTED, None)
    return [n for n in names if wanted is None or n in wanted]


def pytest_configure(config):
    from rnn_models.suite.session import SuiteSession, check_inputs

    controller = not hasattr(config, "workerinput")
    baselines = config.getoption("--baselines")
    config.stash[SESSION] = SuiteSession(baselines)
    try:
        config.stash[SELECTED], config.stash[RAY_ADDRESS], lock = check_inputs(
            cells=config.getoption("--cells"), epochs=config.getoption("--epochs"), update=_update(config),
            baselines=baselines, plots=config.getoption("--plots"),
            speed_summary=config.getoption("--speed-summary"), ray_address_option=config.getoption("--ray-address"),
            report=config.getoption("--report"),
            gate_speed=_speed_gate_on(config) and not config.option.no_ab, ab_ref=config.option.ab_ref,
            controller=controller, speed_storage=_speed_storage(config))
    except ValueError as err:
        raise pytest.UsageError(" ".join(str(err).split())) from None
    config.stash[UPDATE_LOCK] = lock
    if _xdist(config) and getattr(config.option, "benchmark_compare", None):
        raise pytest.UsageError(
            "the speed gate (--benchmark-compare) does not run under pytest-xdist: timing beside "
            "training would measure the other worker. Run `pytest benchmarks -n 2 -m \"not speed\"`, "
            "then `pytest benchmarks -m speed --benchmark-compare`.")
    if controller:
        from rnn_models.machine import interrupts
        from rnn_models.records.atomic import Transaction

        config.stash[STOP_HANDLERS] = interrupts.install()  # SIGTERM stops the session as Ctrl-C does
        if _update(config):
            config.stash[TRANSACTION] = Transaction(baselines)
        config.pluginmanager.register(_Plugin(config), "rnnbench-session")


def pytest_unconfigure(config):
    from rnn_models.machine import interrupts

    interrupts.restore(config.stash.get(STOP_HANDLERS, None))
    lock = config.stash.get(UPDATE_LOCK, None)
    if lock is not None:
        lock.release()


# --- parametrisation ----------------------------------------------------------------


def pytest_generate_tests(metafunc):
    # One parametrisation over the registry: no list of names written twice.
    config = metafunc.config
    if "cell" in metafunc.fixturenames:
        timed = "all_cells" in metafunc.fixturenames  # the speed steps: every registry entry
        cells = _selected(config, REGISTRY if timed else matrix_cells())

        def marks(cell):  # a cell's training runs share one xdist worker and its cache
            return [] if timed else [pytest.mark.xdist_group(cell)]

        if "seed" in metafunc.fixturenames:
            metafunc.parametrize(("cell", "seed"), [
                pytest.param(c, s, marks=marks(c), id=f"{c}-seed{s}") for c in cells
                for s in (baseline_seeds(c) if _update(config) else (0,))])
        else:
            metafunc.parametrize("cell", [pytest.param(c, marks=marks(c)) for c in cells])
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", [
            "CPU:0",
            pytest.param("GPU:0", marks=[pytest.mark.gpu, pytest.mark.skipif(
                not _gpus(), reason="TensorFlow sees no GPU on this machine")]),
        ])


def _gpus():
    from rnn_models.machine.environment import visible_gpus  # memory growth set before the GPU starts

    return visible_gpus()


def pytest_collection_modifyitems(config, items):
    # Recording and gating run different accuracy tests; xdist runs no speed test.
    keep, drop = [], []
    for item in items:
        recording = item.get_closest_marker("records_baseline") is not None
        gating = item.get_closest_marker("gates_accuracy") is not None
        timed = item.get_closest_marker("speed") is not None
        if (recording and not _update(config)) or (gating and _update(config)) or (timed and _xdist(config)):
            drop.append(item)
        else:
            keep.append(item)
    if _xdist(config) and any(i.get_closest_marker("speed") for i in drop):
        config.stash[SESSION].notes.append(
            "speed benchmarks not run under pytest-xdist (they must not share the machine with "
            "training): run `pytest benchmarks -m speed` without -n"
            + (" --update-baselines to record the speed baseline" if _update(config) else ""))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if _xdist(config):
        _costliest_cells_first(config, items)


def pytest_collection_finish(session):
    # After every plugin's deselection (-k and -m deselect after this conftest's hook ran): the
    # seed-0 runs to train at once, and the speed steps in the A/B's family, of the tests kept.
    config, items = session.config, session.items
    if not _xdist(config):  # an xdist worker collects every test but runs only its share
        params = [getattr(i, "callspec", None) for i in items if "matrix_run" in i.fixturenames]
        config.stash[PLANNED] = list(dict.fromkeys(p.params["cell"] for p in params if p and "cell" in p.params))
    steps = [i for i in items if i.originalname == "test_step_speed"]
    gpus = bool(steps) and any(i.callspec.params["device"] != "CPU:0" for i in steps) and _gpus()
    config.stash[GATED] = sum(1 for i in steps if i.callspec.params["device"] == "CPU:0" or gpus)


def _costliest_cells_first(config, items):
    """Under xdist, the cells' groups in order of their stored run time, longest first (a
    stable sort: the ungrouped tests keep their order after them)."""
    from rnn_models.suite.stored_inputs import costliest_first

    def group(item):
        marker = item.get_closest_marker("xdist_group")
        return (marker.args or (marker.kwargs.get("name"),))[0] if marker else None

    groups = list(dict.fromkeys(g for g in map(group, items) if g is not None))
    rank = {g: k for k, g in enumerate(costliest_first(groups, config.getoption("--baselines")))}
    items.sort(key=lambda item: rank.get(group(item), len(rank)))


class _Plugin:
    """Hands each report to the session (``rnn_models.suite.session``), and at the end the
    update's commit, the summary file, the plots and the terminal summary."""

    def __init__(self, config):
        self.config, self.session = config, config.stash[SESSION]

    def pytest_runtest_logreport(self, report):
        self.session.take(report.nodeid, report.failed, report.when, report.user_properties)

    def pytest_sessionstart(self, session):
        _wrap_storage(self.config, getattr(self.config, "_benchmarksession", None))

    def pytest_sessionfinish(self, session, exitstatus):
        """After pytest-benchmark staged its save: the update's commit, the summary file."""
        config = self.config
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.session.stopped()
        gate = config.stash.get(SPEED_GATE, None)
        summary = config.getoption("--speed-summary")
        if gate is not None and summary:
            from rnn_models.records.atomic import write_bytes_atomic

            write_bytes_atomic(summary, gate.table(markdown=True).encode())
        transaction = config.stash.get(TRANSACTION, None)
        if transaction is not None and not self.session.commit_update(transaction, passed=exitstatus == 0):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if config.getoption("--plots"):
            self.session.plot(config.getoption("--plots"))

    def pytest_terminal_summary(self, terminalreporter, exitstatus):
        workers = getattr(self.config.option, "numprocesses", None) or 1
        report = self.config.getoption("--report")
        if report:  # the run's page, from the same data as the summary below
            try:
                path = self.session.write_report(report, self.config.stash.get(SPEED_GATE, None), exitstatus, workers)
                self.session.notes.append(f"run page written: {path} (its data: {path.with_suffix('.json')})")
            except OSError as err:
                self.session.notes.append(f"run page not written: {' '.join(str(err).split())}")
        section = None
        for title, text in self.session.summary(workers, self.config.stash.get(SPEED_GATE, None)):
            if title and title != section:
                terminalreporter.section(title)
            section = title
            terminalreporter.write_line(text)


def _wrap_storage(config, benchmarksession):
    """pytest-benchmark's storage, wrapped once in ``AtomicStorage`` (an atomic save, staged
    into an update, and a ``location`` that works for a folder outside the working
    directory). pytest-benchmark has no storage hook, so it is swapped on its session."""
    from rnn_models.records.speed_runs import AtomicStorage

    if benchmarksession is not None and not isinstance(benchmarksession.storage, AtomicStorage):
        benchmarksession.storage = AtomicStorage(benchmarksession.storage, config.stash.get(TRANSACTION, None))


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_benchmark_compare_machine_info(config, benchmarksession):
    # Workaround: pytest-benchmark's own impl of this hook (its machine-info warning, made
    # while it loads the compared run in its pytest_configure, before our session starts)
    # reads ``storage.location``, which raises for a --baselines folder outside the working
    # directory; running first, this gives it our storage (docs/decisions.md).
    _wrap_storage(config, benchmarksession)


def pytest_benchmark_update_machine_info(config, machine_info):
    """Each saved speed run records this machine's fingerprint (CPU model, cores, ISA flags,
    library versions, thread settings), which pytest-benchmark's machine id does not."""
    from rnn_models.machine.environment import fingerprint
    from rnn_models.records.speed_runs import FINGERPRINT_KEY

    machine_info[FINGERPRINT_KEY] = fingerprint()


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def all_cells():
    """Requesting this widens ``cell`` from the tutorial's five to every registry entry."""
    return list(REGISTRY)


@pytest.fixture(scope="session")
def baseline_dir(pytestconfig):
    return Path(pytestconfig.getoption("--baselines"))


@pytest.fixture(scope="session")
def update_baselines(pytestconfig):
    return _update(pytestconfig)


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
    """``report_accuracy(outcome)``: a cell's accuracy verdict, for the terminal summary."""
    return lambda outcome: record_property(ACCURACY, {**outcome.to_dict(), "table": outcome.table()})


@pytest.fixture
def report_numerics(record_property):
    return lambda case, outcome: record_property(NUMERICS, {case: outcome})


@pytest.fixture(scope="session")
def real_batch(sequence_data, pytestconfig):
    """One batch of real MNIST rows: x [128, 28, 28] float32, y [128] int32. The speed steps
    use it, so the executor's workers end first: nothing else runs while steps are timed."""
    if MATRIX in pytestconfig.stash:
        pytestconfig.stash[MATRIX].close()  # started again if a later test trains
    from rnn_models.config import TUTORIAL
    from rnn_models.speed import ab

    return ab.real_batch(sequence_data(TUTORIAL))


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
    if not _speed_gate_on(pytestconfig):
        yield None
        return
    from rnn_models.regression.rules import parse_rule
    from rnn_models.speed.gate import SpeedGate

    rules = [parse_rule(text) for text in pytestconfig.getini("rnnbench_fallback_rules")]
    gate = SpeedGate(_speed_storage(pytestconfig), pytestconfig.getoption("--baselines"), rules,
                     family_size=pytestconfig.stash.get(GATED, 1), ref=option.ab_ref,
                     ab=not option.no_ab)
    pytestconfig.stash[SPEED_GATE] = gate
    yield gate
    gate.close()
