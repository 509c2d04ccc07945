"""The regression suite's pytest plugin: hooks and the fixtures' registration only, loaded in
every pytest session of an environment where rnn_models is installed (``pytest11`` entry point,
``pyproject.toml``; ``-p rnn_models.suite.plugin`` where plugins do not autoload).

It adds the suite's options (``rnn_models.suite.options``, one table) and ini keys, and does
nothing else unless the session runs the suite: a folder that the ini's ``rnnbench_suite``
names (``benchmarks``), reached by pytest's arguments. Then it checks the options and stored
inputs before any test runs (``rnn_models.suite.session.check_inputs``), registers the
fixtures (``rnn_models.suite.fixtures``), parametrises the suite's tests over the registry,
hands each report to the session and prints its summary.

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

from rnn_models.suite.plugin_state import (ACTIVE, GATED, PLANNED, RAY_ADDRESS, SELECTED, SESSION,
                                           STOP_HANDLERS, SUITE_INI, TRANSACTION, UPDATE_LOCK, active, in_suite,
                                           selected, speed_gate_on, speed_storage, suite_folders, updating, xdist)


def pytest_addoption(parser):
    from rnn_models.suite.options import SUITE_OPTIONS, add_options

    group = parser.getgroup("rnnbench", "rnnbench regression suite")
    # The suite's --cells also takes `a b`, and names a bad cell in its own one-line error.
    add_options(group.addoption, *SUITE_OPTIONS,
                cells={"type": str, "nargs": "+", "metavar": "CELL",
                       "help": "registry names to run, as a,b or a b (default: every cell)"})
    parser.addini(SUITE_INI, type="paths", default=[],
                  help="the rnnbench suite's test folders: its plugin works only in a session that runs them")
    parser.addini("rnnbench_fallback_rules", type="linelist", default=[],
                  help="speed rules against the stored run when the A/B cannot run, "
                       "e.g. median:150%")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # First: pytest-benchmark (trylast) reads the storage and the save name set here.
    folders = suite_folders(config)
    if not folders:
        return
    config.stash[ACTIVE] = folders
    _storage_follows_baselines(config)
    if updating(config) and hasattr(config.option, "benchmark_save"):
        # The speed run is saved into pytest-benchmark's storage (baselines/benchmarks/) as
        # NNNN_baseline.json, staged with the rest of the update.
        config.option.benchmark_save = config.option.benchmark_save or "baseline"
    _check_and_start(config)
    from rnn_models.suite import fixtures

    config.pluginmanager.register(fixtures, "rnnbench-fixtures")


def _check_and_start(config):
    """The options and stored inputs, checked (a bad one: pytest's usage error, exit 4); on
    the controller, SIGTERM as Ctrl-C, an update's transaction, and the session's hooks."""
    from rnn_models.suite.session import SuiteSession, check_inputs

    controller = not hasattr(config, "workerinput")
    baselines = config.getoption("--baselines")
    config.stash[SESSION] = SuiteSession(baselines)
    try:
        config.stash[SELECTED], config.stash[RAY_ADDRESS], lock = check_inputs(
            cells=config.getoption("--cells"), epochs=config.getoption("--epochs"), update=updating(config),
            baselines=baselines, plots=config.getoption("--plots"),
            speed_summary=config.getoption("--speed-summary"), ray_address_option=config.getoption("--ray-address"),
            report=config.getoption("--report"),
            gate_speed=speed_gate_on(config) and not config.option.no_ab, ab_ref=config.option.ab_ref,
            controller=controller, speed_storage=speed_storage(config))
    except ValueError as err:
        raise pytest.UsageError(" ".join(str(err).split())) from None
    config.stash[UPDATE_LOCK] = lock
    if xdist(config) and getattr(config.option, "benchmark_compare", None):
        raise pytest.UsageError(
            "the speed gate (--benchmark-compare) does not run under pytest-xdist: timing beside "
            "training would measure the other worker. Run `pytest benchmarks -n 2 -m \"not speed\"`, "
            "then `pytest benchmarks -m speed --benchmark-compare`.")
    if controller:
        from rnn_models.machine import interrupts
        from rnn_models.records.atomic import Transaction

        config.stash[STOP_HANDLERS] = interrupts.install()  # SIGTERM stops the session as Ctrl-C does
        if updating(config):
            config.stash[TRANSACTION] = Transaction(baselines)
        from rnn_models.suite.session_hooks import SessionHooks

        config.pluginmanager.register(SessionHooks(config), "rnnbench-session")


def _storage_follows_baselines(config):
    """pytest-benchmark's storage (the stored speed runs) is ``<--baselines>/benchmarks``, so
    that a run given another baselines folder reads and writes every baseline there. An
    explicit ``--benchmark-storage`` elsewhere is kept."""
    from rnn_models.records.baselines import BASELINE_DIR

    option = config.option
    if not hasattr(option, "benchmark_storage"):
        return
    baselines = Path(config.getoption("--baselines")).resolve()
    storage = str(option.benchmark_storage)
    default = (BASELINE_DIR / "benchmarks").resolve()
    if baselines != BASELINE_DIR.resolve() and Path(storage.removeprefix("file://")).resolve() == default:
        option.benchmark_storage = f"file://{baselines / 'benchmarks'}"


def pytest_unconfigure(config):
    if not active(config):
        return
    from rnn_models.machine import interrupts

    interrupts.restore(config.stash.get(STOP_HANDLERS, None))
    lock = config.stash.get(UPDATE_LOCK, None)
    if lock is not None:
        lock.release()


# --- parametrisation and collection ----------------------------------------------------


def pytest_generate_tests(metafunc):
    # One parametrisation over the registry: no list of names written twice.
    config = metafunc.config
    if not active(config) or not in_suite(config, metafunc.definition.path):
        return
    from rnn_models.registry import REGISTRY
    from rnn_models.suite.matrix import baseline_seeds, matrix_cells

    if "cell" in metafunc.fixturenames:
        timed = "all_cells" in metafunc.fixturenames  # the speed steps: every registry entry
        cells = selected(config, REGISTRY if timed else matrix_cells())

        def marks(cell):  # a cell's training runs share one xdist worker and its cache
            return [] if timed else [pytest.mark.xdist_group(cell)]

        if "seed" in metafunc.fixturenames:
            metafunc.parametrize(("cell", "seed"), [
                pytest.param(c, s, marks=marks(c), id=f"{c}-seed{s}") for c in cells
                for s in (baseline_seeds(c) if updating(config) else (0,))])
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Recording and gating run different accuracy tests; xdist runs no speed test. First, so
    # that the other plugins see only the tests kept (pytest-benchmark's xdist warning).
    if not active(config):
        return
    keep, drop = [], []
    for item in items:
        recording = item.get_closest_marker("records_baseline") is not None
        gating = item.get_closest_marker("gates_accuracy") is not None
        timed = item.get_closest_marker("speed") is not None
        if in_suite(config, item.path) and ((recording and not updating(config)) or (gating and updating(config))
                                            or (timed and xdist(config))):
            drop.append(item)
        else:
            keep.append(item)
    if xdist(config) and any(i.get_closest_marker("speed") for i in drop):
        config.stash[SESSION].notes.append(
            "speed benchmarks not run under pytest-xdist (they must not share the machine with "
            "training): run `pytest benchmarks -m speed` without -n"
            + (" --update-baselines to record the speed baseline" if updating(config) else ""))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if xdist(config):
        _costliest_cells_first(config, items)
    else:
        _untrained_tests_first(config, items)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session):
    # After every plugin's deselection (-k and -m deselect after this plugin's hook ran): the
    # seed-0 runs to train at once, and the speed steps in the A/B's family, of the tests kept;
    # first, so that other plugins' collection_finish can read them.
    config = session.config
    if not active(config):
        return
    items = [i for i in session.items if in_suite(config, i.path)]
    if not xdist(config):  # an xdist worker collects every test but runs only its share
        from rnn_models.suite.stored_inputs import costliest_first

        params = [getattr(i, "callspec", None) for i in items if "matrix_run" in i.fixturenames]
        cells = list(dict.fromkeys(p.params["cell"] for p in params if p and "cell" in p.params))
        config.stash[PLANNED] = costliest_first(cells, config.getoption("--baselines"))  # pool: longest first
    steps = [i for i in items if i.originalname == "test_step_speed"]
    gpus = bool(steps) and any(i.callspec.params["device"] != "CPU:0" for i in steps) and _gpus()
    config.stash[GATED] = sum(1 for i in steps if i.callspec.params["device"] == "CPU:0" or gpus)


def _untrained_tests_first(config, items):
    """In a plain session: the suite's tests that need no training run (the layer-norm
    numerics cases train in this process) first, while the executor trains the planned
    seed-0 runs in the background (``fixtures.matrix_in_background``); then those that need
    them; the timed steps last, once the executor's processes are gone."""

    def rank(item):
        if not in_suite(config, item.path):
            return 1
        if item.get_closest_marker("speed") is not None:
            return 2
        return 1 if "matrix" in item.fixturenames else 0

    items.sort(key=rank)  # stable: each rank keeps its order


def _costliest_cells_first(config, items):
    """Under xdist, the cells' groups in order of their stored run time, longest first (a
    stable sort: the ungrouped tests keep their order after them)."""
    from rnn_models.suite.stored_inputs import costliest_first

    def group(item):
        marker = item.get_closest_marker("xdist_group") if in_suite(config, item.path) else None
        return (marker.args or (marker.kwargs.get("name"),))[0] if marker else None

    groups = list(dict.fromkeys(g for g in map(group, items) if g is not None))
    rank = {g: k for k, g in enumerate(costliest_first(groups, config.getoption("--baselines")))}
    items.sort(key=lambda item: rank.get(group(item), len(rank)))


# --- pytest-benchmark's hooks (optional: the plugin loads without pytest-benchmark) ------


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_benchmark_compare_machine_info(config, benchmarksession):
    # Workaround: pytest-benchmark's own impl of this hook (its machine-info warning, made
    # while it loads the compared run in its pytest_configure, before our session starts)
    # reads ``storage.location``, which raises for a --baselines folder outside the working
    # directory; running first, this gives it our storage (docs/decisions.md).
    if active(config):
        from rnn_models.suite.session_hooks import wrap_storage

        wrap_storage(config, benchmarksession)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(config, machine_info):
    """Each saved speed run of the suite records this machine's fingerprint (CPU model, cores,
    ISA flags, library versions, thread settings), which pytest-benchmark's machine id does not."""
    if not active(config):
        return
    from rnn_models.machine.environment import fingerprint
    from rnn_models.records.speed_runs import FINGERPRINT_KEY

    machine_info[FINGERPRINT_KEY] = fingerprint()
