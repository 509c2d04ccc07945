"""``gate-trial``'s loop, with the A/B runs stood in for: what it stores, and when."""

import contextlib
import datetime
import json

import pytest

from rnn_models.regression.speed import Thresholds
from rnn_models.selfcheck import gate_trial
from rnn_models.speed.ab import PLACEMENT

THRESHOLDS = Thresholds(0.04, 0.005, 0.01, (16, 32), 0.1, pairs=3)


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    """No workers, worktree or calibration: a stand-in ``one_run`` gives two runs' verdicts,
    then is interrupted."""
    runs = []

    def one_run(root, baseline_root, batch, thresholds, steps, family, slowdown=0.0, log=print):
        if len(runs) == 2:
            raise KeyboardInterrupt  # Ctrl-C, or SIGTERM as the CLI turns it, during run 3
        runs.append(steps)
        return {"lstm train CPU:0": {"verdict": "unchanged", "first": "unchanged", "second": None}}

    monkeypatch.setattr(gate_trial, "one_run", one_run)
    monkeypatch.setattr(gate_trial, "thresholds_for", lambda *a: (THRESHOLDS, "made-up-kind", "made up"))
    monkeypatch.setattr(gate_trial, "load_calibrations", lambda baselines: {})
    monkeypatch.setattr(gate_trial.worktree, "repo_root", lambda root: tmp_path)
    monkeypatch.setattr(gate_trial.worktree, "resolve", lambda repo, ref: "0" * 40)
    monkeypatch.setattr(gate_trial.worktree, "checkout", lambda repo, commit: contextlib.nullcontext(tmp_path))
    monkeypatch.setattr(gate_trial.git, "run", lambda *a, **k: type("Done", (), {"stdout": ""})())
    return runs


def test_an_interrupted_trial_has_stored_the_runs_it_finished(stand_ins, tmp_path):
    stored = []

    def after_run(kind, entry):
        stored.append((kind, entry["summary"]["runs"], len(entry["runs"])))

    with pytest.raises(KeyboardInterrupt):
        gate_trial.trial(None, cells=["lstm"], runs=20, load=False, slowdown=0.0, inject=("lstm", "train"),
                         root=tmp_path, baselines=tmp_path, log=lambda line: None, after_run=after_run)
    assert stored == [("made-up-kind", 1, 1), ("made-up-kind", 2, 2)]


def test_a_trial_names_its_start_and_the_commit_it_ran(stand_ins, tmp_path):
    kind, entry = gate_trial.trial(None, cells=["lstm"], runs=1, load=False, slowdown=0.0, inject=("lstm", "train"),
                                   root=tmp_path, baselines=tmp_path, log=lambda line: None)
    assert entry["code"] == "0" * 40  # HEAD, as the stand-in resolves it
    assert entry["placement"] == PLACEMENT  # what tells its units from those timed before the pinning
    assert datetime.datetime.fromisoformat(entry["started"])


def test_store_keeps_other_experiments_and_names_this_one(tmp_path):
    out = tmp_path / "trials.json"
    entry = {"started": "t1", "code": "abc123", "runs": [], "summary": {"runs": 0}}
    gate_trial.store(out, "kind-a", entry, load=True, slowdown=0.0, inject=("lstm", "train"), command="c1")
    gate_trial.store(out, "kind-a", {**entry, "started": "t2"}, load=False, slowdown=0.05,
                     inject=("gru", "inference"), command="c2")
    experiments = json.loads(out.read_text())["kinds"]["kind-a"]
    assert set(experiments) == {"machine", "aa_beside_a_second_job", "injected_0.05_gru_inference"}
    assert experiments["injected_0.05_gru_inference"]["command"] == "c2"
    assert experiments["injected_0.05_gru_inference"]["code"] == "abc123"


def test_a_later_trial_of_an_experiment_keeps_the_earlier_ones_under_their_date(tmp_path):
    out = tmp_path / "trials.json"
    aa = dict(load=False, slowdown=0.0, inject=("lstm", "train"))
    for started in ("t1", "t2", "t3"):  # three trials, each stored after each of its two runs
        for runs in (1, 2):
            gate_trial.store(out, "kind-a", {"started": started, "runs": [{}] * runs}, command=started, **aa)
    experiments = json.loads(out.read_text())["kinds"]["kind-a"]
    day = experiments["aa"]["date"]
    assert {name: (e["command"], len(e["runs"])) for name, e in experiments.items() if name != "machine"} == {
        "aa": ("t3", 2), f"aa_{day}": ("t1", 2), f"aa_{day}_2": ("t2", 2)}


LEANING = [-0.05 if i % 4 == 0 else 0.05 for i in range(32)]  # inconclusive at 1.051: too noisy, retimed
SLOW = [0.06 + 0.001 * (-1) ** i for i in range(32)]  # a clear 6%
SAME = [0.001 * (-1) ** i for i in range(32)]  # a clear nothing


@pytest.mark.parametrize("first_run, next_units, flagged", [
    ({"units": LEANING, "retimes_units": [SLOW]}, SAME, 1),  # the trial's own retime, pooled: slower
    # pooled with its own retime, no longer leaning: not flagged (the next run's 6%, retimed
    # with this run's units, is; with those as its retime, run 0 would be too)
    ({"units": LEANING, "retimes_units": [SAME]}, SLOW, 1),
    ({"units": LEANING, "second_units": SLOW}, SAME, 1),  # an entry from before the retimes
    ({"units": LEANING, "retimes_units": []}, SLOW, 2),  # a retime the trial did not take: the next run's
    ({"units": LEANING, "retimes_units": []}, SAME, 0),
])
def test_a_replay_takes_the_trial_s_own_retimes_then_the_next_runs_units(first_run, next_units, flagged):
    entry = {"runs": [{"steps": {"gru train CPU:0": first_run}},
                      {"steps": {"gru train CPU:0": {"units": next_units, "retimes_units": []}}}]}
    assert gate_trial.replay(entry, THRESHOLDS, 16) == {"runs": 2, "runs_flagged_slower": flagged}
