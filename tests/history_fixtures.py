"""Small fixtures of the history and run pages: a run's verdicts as the suite hands them over
(``GateOutcome.to_dict``, ``AccuracyOutcome.to_dict``, RunResult dicts, the budget), one of each kind of
outcome, and a git repository of baselines built commit by commit. No training, no timing."""

import json
import math

from rnn_models.selfcheck import synthetic_history
from tests import ROOT


def run_result(cell, seed, shift=0.0):
    """A RunResult-shaped dict: 10 epochs, the loss falling and the accuracy rising."""
    return {"config": {"cell": cell, "seed": seed}, "schema_version": 1, "wall_time_s": 30.0, "input_wait_s": 0.3,
            "peak_rss_bytes": 900_000_000, "fingerprint": None, "versions": {"tensorflow": "2.21.0", "keras": "3.15.1"},
            "train_curve": [{"epoch": 1 + k // 2, "step": 250 * (k + 1), "loss": 1.5 * math.exp(-k / 3) + 0.1 + shift,
                             "accuracy_mean": 0.9, "accuracy_min": 0.8} for k in range(18)],
            "test_curve": [{"epoch": e, "step": 429 * e, "loss": 0.2, "accuracy_mean": 0.97 - 0.1 / e - shift,
                            "accuracy_min": 0.9} for e in range(1, 11)]}


def _look(seeds, drop, low, high, verdict):
    return {"seeds": seeds, "candidate_mean": 0.97 - drop, "baseline_mean": 0.97, "drop": drop, "low": low,
            "high": high, "verdict": verdict}


POLICY = {"target_drop": 0.01, "last_epochs": 3, "alpha": 0.01, "looks": [3, 6], "min_drop": 0.005,
          "description": "mean test accuracy over the last 3 epochs"}


def verdicts(failing=True):
    """The run_data keyword arguments of a run: gru's accuracy identical and speed unchanged;
    lstm's accuracy judged over seeds (failing when ``failing``) and its train step slower."""
    speed = [
        {"name": "test_step_speed[gru-CPU:0-train]", "cell": "gru", "phase": "train", "device": "CPU:0",
         "mode": "ab", "verdict": "unchanged", "fails": False, "detail": "current/baseline 1.004 [0.981, 1.027]",
         "judged_by": "A/B, thresholds of amd-epyc-family-25-model-17-2-cores",
         "ab": {"ratio": 1.004, "low": 0.981, "high": 1.027, "units": 20, "unit_steps": 8,
                "current_median_s": 0.0061, "baseline_median_s": 0.0060}},
        {"name": "test_step_speed[lstm-CPU:0-train]", "cell": "lstm", "phase": "train", "device": "CPU:0",
         "mode": "ab", "verdict": "slower" if failing else "unchanged", "fails": failing,
         "detail": "current/baseline 1.150 [1.100, 1.210]", "judged_by": "A/B confirmed in fresh workers",
         "ab": {"ratio": 1.15, "low": 1.10, "high": 1.21, "units": 20, "unit_steps": 8,
                "current_median_s": 0.0069, "baseline_median_s": 0.0060}},
        {"name": "test_step_speed[lstm-CPU:0-inference]", "cell": "lstm", "phase": "inference", "device": "CPU:0",
         "mode": "fallback", "verdict": "within rules", "fails": False, "detail": "median 2.1 ms vs stored 2.0 ms",
         "judged_by": "stored-run rules (median:150%)"},
    ]
    lstm_looks = [_look([0, 1, 2], 0.012 if failing else 0.001, 0.007 if failing else -0.004,
                        0.017 if failing else 0.006, "fail" if failing else "pass")]
    accuracy = [
        {"cell": "gru", "verdict": "identical", "fails": False, "detail": "seed 0 reproduces the stored run",
         "looks": [], "baseline_seeds": 10, "candidate_values": [], "policy": POLICY},
        {"cell": "lstm", "verdict": "fail" if failing else "pass", "fails": failing,
         "detail": "not identical (the identical check was skipped); decided after 3 seeds", "looks": lstm_looks,
         "baseline_seeds": 10, "candidate_values": [0.955, 0.958, 0.96], "policy": POLICY},
    ]
    runs = [run_result("gru", 0), run_result("lstm", 0, 0.01), run_result("lstm", 1, 0.012)]
    thresholds = {"ab": {"min_effect": 0.03, "process_sigma": 0.01, "family_alpha": 0.01, "looks": [10, 20],
                         "block_s": 0.05}, "kind": "amd-epyc-family-25-model-17-2-cores", "ref": "3d063f6",
                  "commit": "3d063f630c43be6e578c7c2051bdad6daf350db6", "fallback_rules": ["median:150%"],
                  "family_size": 3}
    failed = ["benchmarks/test_speed.py::test_step_speed[lstm-CPU:0-train]",
              "benchmarks/test_accuracy.py::test_accuracy[lstm]"] if failing else []
    # The runs' matrix_budget: 3 runs of 30 s, 0.3 s of input each, 900 MB at most.
    budget = {"runs": 3, "cells": 2, "wall_s": 90.0, "input_s": 0.9, "input_share": 0.01, "peak_rss_bytes": 900_000_000}
    return dict(runs=runs, accuracy=accuracy, speed=speed, thresholds=thresholds, failed=failed,
                exitstatus=1 if failing else 0, notes=["A/B against 3d063f6"], baselines=ROOT / "baselines",
                budget=budget)


git = synthetic_history.git_output  # the library's committer: one git helper, not one per test file


def make_repo(path, remote="git@github.com:example/rnnbench.git"):
    """A git repository whose ``baselines/`` holds gru's stored file and the newest speed run,
    committed three times: as stored, with a seed's accuracy lowered, and with a newer
    TensorFlow version. Returns the repository's path."""
    base = path / "baselines"
    speed_dir = base / "benchmarks" / "Linux-CPython-3.11-64bit"
    speed_dir.mkdir(parents=True)
    gru = json.loads((ROOT / "baselines" / "gru.json").read_text())
    stored_speed = ROOT / "baselines" / "benchmarks" / "Linux-CPython-3.11-64bit" / "0004_baseline.json"
    speed = json.loads(stored_speed.read_text())
    git(path, "init", "-q")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "t")
    if remote:
        git(path, "remote", "add", "origin", remote)
    for k, tf in enumerate(("2.21.0", "2.21.0", "2.22.0")):
        gru["versions"]["tensorflow"] = tf
        gru["seeds"][1]["test_accuracy"][-1] -= 0.01 * k
        speed["machine_info"]["rnnbench_fingerprint"]["versions"]["tensorflow"] = tf
        for bench in speed["benchmarks"]:
            for stat in ("median", "q1", "q3"):
                bench["stats"][stat] *= 1.1
        (base / "gru.json").write_text(json.dumps(gru))
        (speed_dir / f"000{k + 1}_baseline.json").write_text(json.dumps(speed))
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"baselines {k}")
    return path
