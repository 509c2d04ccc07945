"""The suite's collection in a real ``pytest benchmarks`` process: only the selected tests
plan training runs and timed steps (the suite's definitions: tests/unit/test_suite.py)."""

import os

from tests import ROOT


PROBE = '''
import json


def pytest_collection_finish(session):  # runs after the suite's: what it planned, as JSON
    plugin = next(p for p in session.config.pluginmanager.get_plugins() if hasattr(p, "PLANNED"))
    stash = session.config.stash
    print("PROBE " + json.dumps([stash[plugin.PLANNED], stash[plugin.GATED], len(session.items)]))
'''


def test_only_the_selected_tests_plan_training_runs_and_timed_steps(tmp_path):
    """``-k`` deselects after the suite's own collection hook: the seed-0 runs trained at once
    and the A/B's family are those of the tests kept (``-k gru`` trained all five cells)."""
    import json
    import subprocess
    import sys

    (tmp_path / "rnnbench_probe.py").write_text(PROBE)
    root = ROOT
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])}
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-k", "gru and (CPU or budget)",
                           "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "rnnbench_probe"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    line = next((line for line in done.stdout.splitlines() if line.startswith("PROBE ")), None)
    assert done.returncode == 0 and line, done.stdout + done.stderr
    planned, gated, items = json.loads(line.removeprefix("PROBE "))
    assert planned == ["gru"]  # test_budget's gru only
    assert gated == 4 and items == 5  # gru's and keras_gru's CPU train and inference steps
