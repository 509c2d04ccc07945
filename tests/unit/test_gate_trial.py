"""``gate-trial``'s loop, with the A/B runs stood in for: what it stores, and when."""

import contextlib
import json

import pytest

from rnn_models.regression.speed import Thresholds
from rnn_models.selfcheck import gate_trial

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


def test_store_keeps_other_experiments_and_names_this_one(tmp_path):
    out = tmp_path / "trials.json"
    entry = {"runs": [], "summary": {"runs": 0}}
    gate_trial.store(out, "kind-a", entry, load=True, slowdown=0.0, inject=("lstm", "train"), command="c1")
    gate_trial.store(out, "kind-a", entry, load=False, slowdown=0.05, inject=("gru", "inference"), command="c2")
    experiments = json.loads(out.read_text())["kinds"]["kind-a"]
    assert set(experiments) == {"machine", "aa_beside_a_second_job", "injected_0.05_gru_inference"}
    assert experiments["injected_0.05_gru_inference"]["command"] == "c2"
