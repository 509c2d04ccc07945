"""Fixtures and wiring of the regression suite, over ``rnn_models``: which cells, seeds and
devices; the real MNIST once per session; each training run once per process; the speed
gate; and, with ``--update-baselines``, one transaction that writes baselines/ at the end.

Runs train away from the pytest process, in one executor per process
(``rnn_models.parallel.open_executor``): worker processes on this machine, or the Ray
cluster at ``--ray-address``. Under pytest-xdist the tests spread over the workers (one
``xdist_group`` per cell, so a cell's runs share a worker and its cache, the costliest cells
first), and each worker submits its runs to its own executor. Each test reports its results
through ``user_properties``, so the controller sees every run, whichever host ran it.
"""

import time
from pathlib import Path

import pytest

from rnn_models.registry import REGISTRY
from rnn_models.suite import baseline_seeds, matrix_cells

RUNS = pytest.StashKey[list]()  # every run's RunResult dict, as the controller received it
NUMERICS = pytest.StashKey[dict]()  # numerics outcomes reported by this session's tests
FAILED = pytest.StashKey[list]()  # the tests that failed (an update then writes nothing)
NOTES = pytest.StashKey[list]()  # one-line notes for the terminal summary
SPEED_GATE = pytest.StashKey[object]()
TRANSACTION = pytest.StashKey[object]()
STARTED = pytest.StashKey[float]()
SELECTED = pytest.StashKey[list]()  # --cells, parsed (None: every cell)
GATED = pytest.StashKey[int]()  # the speed steps this session gates, for the A/B's correction
SPEED_RESULTS = pytest.StashKey[list]()  # this process's SpeedResults (speed never runs under xdist)
ACCURACY = pytest.StashKey[dict]()  # each cell's accuracy verdict and table, for the summary
RAY_ADDRESS = pytest.StashKey[object]()  # --ray-address or $RNN_MODELS_RAY_ADDRESS, checked (None: local)
EXECUTOR = pytest.StashKey[object]()  # this process's executor, once started
UPDATE_LOCK = pytest.StashKey[object]()  # the baselines folder's lock, held by an update
STOP_HANDLERS = pytest.StashKey[object]()  # the signal handlers to restore at the end
PLANNED = pytest.StashKey[list]()  # the cells whose seed-0 run this session's tests need
RUN_PROPERTY, NUMERICS_PROPERTY, ACCURACY_PROPERTY = "rnnbench_run", "rnnbench_numerics", "rnnbench_accuracy"


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


def _selected(config, names):
    wanted = config.stash.get(SELECTED, None)
    return [n for n in names if wanted is None or n in wanted]


def pytest_configure(config):
    from rnn_models._atomic import Transaction, lock_for_update, recover
    from rnn_models.baseline import check_stored_inputs
    from rnn_models.parallel import ray_address
    from rnn_models.speed.gate import check_speed_inputs
    from rnn_models.suite import check_suite_options

    for key, value in ((RUNS, []), (NUMERICS, {}), (FAILED, []), (NOTES, []), (SPEED_RESULTS, []),
                       (ACCURACY, {})):
        config.stash[key] = value
    config.stash[STARTED] = time.perf_counter()
    baselines = config.getoption("--baselines")
    try:
        config.stash[SELECTED] = check_suite_options(
            cells=config.getoption("--cells"), epochs=config.getoption("--epochs"),
            update=_update(config), baselines=baselines, plots=config.getoption("--plots"),
            speed_summary=config.getoption("--speed-summary"))
        config.stash[RAY_ADDRESS] = ray_address(config.getoption("--ray-address"))
        if not hasattr(config, "workerinput"):
            if _update(config):
                config.stash[UPDATE_LOCK] = lock_for_update(baselines)  # one update at a time
            recover(baselines)  # complete an update a kill interrupted, drop stale temp files
        if not _update(config):
            check_stored_inputs(baselines, _selected(config, matrix_cells()), config.getoption("--epochs"))
        if _speed_gate_on(config) and not config.option.no_ab:  # the A/B's inputs
            check_speed_inputs(baselines, config.option.ab_ref)
    except ValueError as err:
        raise pytest.UsageError(" ".join(str(err).split())) from None
    if _xdist(config) and getattr(config.option, "benchmark_compare", None):
        raise pytest.UsageError(
            "the speed gate (--benchmark-compare) does not run under pytest-xdist: timing beside "
            "training would measure the other worker. Run `pytest benchmarks -n 2 -m \"not speed\"`, "
            "then `pytest benchmarks -m speed --benchmark-compare`.")
    if not hasattr(config, "workerinput"):
        from rnn_models import interrupts

        config.stash[STOP_HANDLERS] = interrupts.install()  # SIGTERM stops the session as Ctrl-C does
        if _update(config):
            config.stash[TRANSACTION] = Transaction(baselines)
        config.pluginmanager.register(_Session(config), "rnnbench-session")


def pytest_unconfigure(config):
    from rnn_models import interrupts

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
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU")


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
        config.stash[NOTES].append(
            "speed benchmarks not run under pytest-xdist (they must not share the machine with "
            "training): run `pytest benchmarks -m speed` without -n"
            + (" --update-baselines to record the speed baseline" if _update(config) else ""))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if _xdist(config):
        _costliest_cells_first(config, items)
    if not _xdist(config):  # an xdist worker collects every test but runs only its share
        params = [getattr(i, "callspec", None) for i in items if "matrix_run" in i.fixturenames]
        config.stash[PLANNED] = list(dict.fromkeys(p.params["cell"] for p in params if p and "cell" in p.params))
    steps = [i for i in items if i.originalname == "test_step_speed"]
    gpus = bool(steps) and any(i.callspec.params["device"] != "CPU:0" for i in steps) and _gpus()
    config.stash[GATED] = sum(1 for i in steps if i.callspec.params["device"] == "CPU:0" or gpus)


def _costliest_cells_first(config, items):
    """Under xdist, the cells' groups in order of their stored run time, longest first (a
    stable sort: the ungrouped tests keep their order after them)."""
    from rnn_models.suite import costliest_first

    def group(item):
        marker = item.get_closest_marker("xdist_group")
        return (marker.args or (marker.kwargs.get("name"),))[0] if marker else None

    groups = list(dict.fromkeys(g for g in map(group, items) if g is not None))
    rank = {g: k for k, g in enumerate(costliest_first(groups, config.getoption("--baselines")))}
    items.sort(key=lambda item: rank.get(group(item), len(rank)))


class _Session:
    """This session's collected results, the update's commit and the summary (a plugin
    object, registered in ``pytest_configure``)."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        """The controller (or a plain session) collects what each test reported."""
        stash = self.config.stash
        if report.failed:
            stash[FAILED].append(report.nodeid)
        if report.when != "call":  # the teardown report repeats the call's properties
            return
        for name, value in report.user_properties:
            if name == RUN_PROPERTY:
                stash[RUNS].append(value)
            elif name == NUMERICS_PROPERTY:
                stash[NUMERICS].update(value)
            elif name == ACCURACY_PROPERTY:
                stash[ACCURACY][value["cell"]] = value

    def pytest_sessionstart(self, session):
        from rnn_models.speed.stored import AtomicStorage

        bs = getattr(self.config, "_benchmarksession", None)  # pytest-benchmark has no storage hook
        if bs is not None:
            bs.storage = AtomicStorage(bs.storage, self.config.stash.get(TRANSACTION, None))

    def pytest_sessionfinish(self, session, exitstatus):
        """After pytest-benchmark staged its save: the update's commit, the summary file."""
        config = self.config
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            from rnn_models import interrupts

            config.stash[NOTES].append(f"stopped by {interrupts.describe()}: the tests so far are "
                                       "reported above, exit code 2 (pytest's 'interrupted')")
        gate = config.stash.get(SPEED_GATE, None)
        summary = config.getoption("--speed-summary")
        if gate is not None and summary:
            from rnn_models._atomic import write_bytes_atomic

            write_bytes_atomic(summary, gate.table(markdown=True).encode())
        transaction = config.stash.get(TRANSACTION, None)
        if transaction is not None:
            self._commit_update(session, transaction, exitstatus)
        if config.getoption("--plots"):
            self._plot(config.getoption("--plots"))

    def _plot(self, folder):
        """The plots of every run any worker reported (seed 0), and of this process's steps."""
        from rnn_models.plots import plot_all
        from rnn_models.results import RunResult

        runs = [RunResult.from_dict(d) for d in self.config.stash[RUNS]]
        results = {r.cell: r for r in runs if r.config.seed == 0}
        rows = [row for r in self.config.stash[SPEED_RESULTS] for row in r.plot_rows()]
        for path in plot_all(self.config.getoption("--baselines"), folder, results=results or None,
                             speed_rows=rows or None):
            self.config.stash[NOTES].append(f"plot written: {path}")

    def _commit_update(self, session, transaction, exitstatus):
        """Every staged file at once, or none: only a run whose tests all passed commits."""
        from rnn_models.baseline import stage_update

        config, notes = self.config, self.config.stash[NOTES]
        failed = config.stash[FAILED]
        if exitstatus != 0 or failed:
            transaction.discard()
            notes.append(f"baselines not updated: {len(failed) or 'some'} test(s) failed or the "
                         f"run stopped; {config.getoption('--baselines')} is exactly as it was")
            return
        try:
            stage_update(transaction, config.stash[RUNS], config.stash[NUMERICS])
            written = transaction.commit()
        except ValueError as err:  # the runs cannot make a baseline: nothing is written
            transaction.discard()
            notes.append(f"baselines not updated: {' '.join(str(err).split())}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        notes.append(f"baselines updated: {len(written)} files ({', '.join(map(str, written))})")

    def pytest_terminal_summary(self, terminalreporter):
        config = self.config
        runs = config.stash.get(RUNS, [])
        if runs:
            from rnn_models.suite import format_budget, matrix_budget

            workers = getattr(config.option, "numprocesses", None) or 1
            elapsed = time.perf_counter() - config.stash[STARTED]
            terminalreporter.write_line(format_budget(matrix_budget(runs), elapsed, workers))
        accuracy = config.stash.get(ACCURACY, {})
        if accuracy:
            terminalreporter.section("rnnbench accuracy gate")
            for cell, outcome in accuracy.items():
                lines = outcome["table"].splitlines()
                terminalreporter.write_line("\n".join(lines if outcome["verdict"] != "identical" else lines[-1:]))
        gate = config.stash.get(SPEED_GATE, None)
        if gate is not None and gate.outcomes:
            terminalreporter.section("rnnbench speed gate")
            terminalreporter.write_line(gate.table())
        for note in config.stash.get(NOTES, []) + (gate.notes if gate is not None else []):
            terminalreporter.write_line(f"rnnbench: {note}")


def pytest_benchmark_update_machine_info(config, machine_info):
    """Each saved speed run records this machine's fingerprint (CPU model, cores, ISA flags,
    library versions, thread settings), which pytest-benchmark's machine id does not."""
    from rnn_models.environment import fingerprint
    from rnn_models.speed.stored import FINGERPRINT_KEY

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
    from rnn_models.parallel import local

    return local.mnist()


@pytest.fixture(scope="session")
def session_results(pytestconfig):
    """This process's RunResults by (cell, seed), and its SpeedResults (for ``--plots``)."""
    return {"runs": {}, "speed": pytestconfig.stash[SPEED_RESULTS]}


@pytest.fixture(scope="session")
def sequence_data(mnist):
    """``sequence_data(config) -> SequenceData`` shaped for the config, made once per process."""
    from rnn_models.parallel import local

    return local.prepared_for


@pytest.fixture(scope="session")
def run_config(pytestconfig):
    """``run_config(cell, seed) -> TrainConfig``: the cell's suite run (``--epochs`` applied)."""
    from rnn_models.suite import matrix_config

    epochs = pytestconfig.getoption("--epochs")
    return lambda cell, seed: (matrix_config(cell) if epochs is None else
                               matrix_config(cell, epochs)).replace(seed=seed)


@pytest.fixture(scope="session")
def trainer(pytestconfig):
    """``trainer(configs) -> [RunResult]``: this process's executor, under the numerics pin.
    With ``--ray-address``, the Ray cluster; else worker processes on this machine, one per
    usable core (an xdist worker's one, on its own cores), so the pytest process's own
    TensorFlow stays unpinned for the speed steps and its memory its own for the budget."""
    from rnn_models.parallel import open_executor
    from rnn_models.suite import expected_run_seconds

    executor = pytestconfig.stash[EXECUTOR] = open_executor(
        pytestconfig.stash[RAY_ADDRESS], processes=1 if hasattr(pytestconfig, "workerinput") else None,
        expected_s=expected_run_seconds(pytestconfig.getoption("--baselines")))
    yield executor.run
    executor.close()


@pytest.fixture(scope="session")
def matrix_run(run_config, trainer, session_results, pytestconfig):
    """``matrix_run(cell, seed=0) -> RunResult``: the cell's suite run, trained once per session.
    A plain session trains every planned cell's seed 0 at the first request, side by side."""

    def run(cell, seed=0):
        key = (cell, seed)
        if key not in session_results["runs"]:
            planned = [c for c in pytestconfig.stash.get(PLANNED, []) if (c, 0) not in session_results["runs"]]
            todo = [(c, 0) for c in planned] if seed == 0 and cell in planned else [key]
            for (c, s), result in zip(todo, trainer([run_config(c, s) for c, s in todo])):
                session_results["runs"][(c, s)] = result
        return session_results["runs"][key]

    return run


@pytest.fixture(scope="session")
def matrix_runs(matrix_run, run_config, session_results, trainer):
    """``matrix_runs(cell, seeds) -> [RunResult]``: several seeds of the cell's suite run, side
    by side in this process's executor."""

    def runs(cell, seeds):
        todo = [s for s in seeds if (cell, s) not in session_results["runs"]]
        if len(todo) > 1:
            for seed, result in zip(todo, trainer([run_config(cell, s) for s in todo])):
                session_results["runs"][(cell, seed)] = result
        return [matrix_run(cell, seed) for seed in seeds]

    return runs


@pytest.fixture
def report_run(record_property):
    """``report_run(result)``: sends a RunResult to the controller (summary, update)."""
    reported = set()

    def report(result):
        key = (result.cell, result.config.seed)
        if key not in reported:
            reported.add(key)
            record_property(RUN_PROPERTY, result.to_dict())

    return report


@pytest.fixture
def report_accuracy(record_property):
    """``report_accuracy(outcome)``: a cell's accuracy verdict, for the terminal summary."""
    return lambda outcome: record_property(ACCURACY_PROPERTY, {
        "cell": outcome.cell, "verdict": outcome.verdict, "table": outcome.table()})


@pytest.fixture
def report_numerics(record_property):
    return lambda case, outcome: record_property(NUMERICS_PROPERTY, {case: outcome})


@pytest.fixture(scope="session")
def real_batch(sequence_data, pytestconfig):
    """One batch of real MNIST rows: x [128, 28, 28] float32, y [128] int32. The speed steps
    use it, so the executor's workers end first: nothing else runs while steps are timed."""
    if EXECUTOR in pytestconfig.stash:
        pytestconfig.stash[EXECUTOR].close()  # started again if a later test trains
    from rnn_models.config import TUTORIAL

    data = sequence_data(TUTORIAL)
    n = TUTORIAL.batch_size
    return data.inputs(data.pixels_train[:n]), data.y_train[:n]


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
    storage = str(option.benchmark_storage).removeprefix("file://")
    gate = SpeedGate(storage, pytestconfig.getoption("--baselines"), rules,
                     family_size=pytestconfig.stash.get(GATED, 1), ref=option.ab_ref,
                     ab=not option.no_ab)
    pytestconfig.stash[SPEED_GATE] = gate
    yield gate
    gate.close()
