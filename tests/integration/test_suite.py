"""The suite's collection in a real ``pytest benchmarks`` process: only the selected tests
plan training runs and timed steps (the suite's definitions: tests/unit/test_suite.py)."""

import os

from tests import ROOT


PROBE = '''
import json


def pytest_collection_finish(session):  # runs after the suite's: what it planned, as JSON
    plugin = next(p for p in session.config.pluginmanager.get_plugins() if hasattr(p, "PLANNED"))
    stash = session.config.stash
    print("PROBE " + json.dumps([stash[plugin.PLANNED], stash[plugin.GATED], len(session.items),
                                 [item.originalname for item in session.items]]))
'''


def _collected(tmp_path, *selection):
    """``(planned cells, gated steps, items, the items' test functions in order)`` of
    ``pytest benchmarks --collect-only`` with ``selection``, in a real pytest process."""
    import json
    import subprocess
    import sys

    (tmp_path / "rnnbench_probe.py").write_text(PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", *selection, "--collect-only", "-q",
                           "-p", "no:cacheprovider", "-p", "rnnbench_probe"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    line = next((line for line in done.stdout.splitlines() if line.startswith("PROBE ")), None)
    assert done.returncode == 0 and line, done.stdout + done.stderr
    return json.loads(line.removeprefix("PROBE "))


def test_only_the_selected_tests_plan_training_runs_and_timed_steps(tmp_path):
    """``-k`` deselects after the suite's own collection hook: the seed-0 runs trained at once
    and the A/B's family are those of the tests kept (``-k gru`` trained all five cells)."""
    planned, gated, items, _ = _collected(tmp_path, "-k", "gru and (CPU or budget)")
    assert planned == ["gru"]  # test_budget's gru only
    assert gated == 4 and items == 5  # gru's and keras_gru's CPU train and inference steps


def test_the_seed0_runs_are_planned_longest_first(tmp_path):
    """The training pool takes the planned runs in order: the longest stored run first, so
    the short ones fill the slots' ends (longest-processing-time-first)."""
    import json
    import statistics

    planned = _collected(tmp_path, "-k", "budget")[0]
    stored = {cell: statistics.median(s["wall_time_s"] for s in json.loads(
        (ROOT / "baselines" / f"{cell}.json").read_text())["seeds"]) for cell in planned}
    assert len(planned) == 5 and planned == sorted(stored, key=stored.get, reverse=True)
    assert planned[0] == "ln_basic_lstm"  # the test's own premise: the stored order is not the registry's


def test_tests_that_train_nothing_run_while_the_seed0_runs_train_and_timed_steps_last(tmp_path):
    """A plain session trains its planned seed-0 runs in the background from its first test
    (``fixtures.matrix_in_background``): the layer-norm numerics cases, trained in the pytest
    process, come first, the tests that wait for the runs next, the timed steps last."""
    planned, _, _, order = _collected(tmp_path)
    untrained = {"test_layer_norm_numerics_outcome", "test_layer_norm_first_step_over_seeds"}
    timed = {"test_step_speed", "test_torch_reference_speed"}
    ranks = [0 if name in untrained else 2 if name in timed else 1 for name in order]
    assert len(planned) == 5 and ranks == sorted(ranks)
    assert set(ranks) == {0, 1, 2}
    assert order.index("test_accuracy_against_seed_distribution") == ranks.count(0)


START_PROBE = '''
import json

from rnn_models.speed.gate import SpeedGate
from rnn_models.suite.plugin_state import MATRIX

CALLS = []


def pytest_configure(config):
    def start(gate, batch):  # when the suite starts the A/B, and what the training was doing then
        background = config.stash[MATRIX]._background
        CALLS.append({"training": background is not None and background.is_alive(),
                      "batch": [list(batch[0].shape), list(batch[1].shape)]})

    SpeedGate.start = start
    SpeedGate._started = lambda gate, batch: None  # no A/B here: the stored run's rules judge


def pytest_unconfigure(config):
    print("PROBE " + json.dumps(CALLS))
'''


def test_a_session_that_gates_speed_starts_the_ab_while_it_waits_for_its_training_runs(tmp_path):
    """The A/B's workers start in the time the last seed-0 runs leave a core free
    (``fixtures.matrix_in_background``), not after them, and only once."""
    import json
    import subprocess
    import sys

    (tmp_path / "rnnbench_start_probe.py").write_text(START_PROBE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-k",
                           "basic_rnn and (budget or (test_step_speed and inference))", "--benchmark-compare",
                           "-q", "-p", "no:cacheprovider", "-p", "rnnbench_start_probe"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    line = next((line for line in done.stdout.splitlines() if line.startswith("PROBE ")), None)
    assert line, done.stdout + done.stderr
    assert json.loads(line.removeprefix("PROBE ")) == [{"training": True, "batch": [[128, 28, 28], [128]]}]
