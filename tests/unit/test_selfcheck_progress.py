"""A long self-check keeps its finished runs: an interrupted ``gate-check`` resumes where it
stopped, measuring none of its kept runs again, and gives what an uninterrupted one gives."""

import json

import pytest

from rnn_models.selfcheck import gate_check
from rnn_models.selfcheck.progress import Progress, partial_path

SETTINGS = {"kind": "test-kind", "runs": 3, "pairs": 3}


class FakeRuns:
    """``gate_check._run`` without workers: each finished run's units follow from its number,
    and the call numbered ``interrupt_at`` is stopped as Ctrl-C stops one."""

    def __init__(self, interrupt_at=None):
        self.finished, self.interrupt_at, self.calls = 0, interrupt_at, 0

    def __call__(self, root, batch, thresholds, steps, family, slowdown=0.0, log=print):
        self.calls += 1
        if self.calls == self.interrupt_at:
            raise KeyboardInterrupt
        self.finished += 1
        k = self.finished
        return {f"{cell} {phase} {device}": [((k * 7 + i * 3) % 11 - 5) / 1000 + (k % 3 - 1) * 0.004 + slowdown
                                             for i in range(32)] for cell, phase, device in steps}


def calibrate(progress):
    return gate_check.calibrate(None, cells=["gru"], runs=3, slowdowns=(0.05,), inject=(("gru", "train"),),
                                looks=(16, 32), block_s=0.1, alpha=0.01, pairs=3, root=".", log=lambda _: None,
                                progress=progress)


def test_an_interrupted_calibration_resumes_without_measuring_its_kept_runs_again(tmp_path, monkeypatch):
    path = partial_path(tmp_path / "kind.json")
    monkeypatch.setattr(gate_check, "_run", FakeRuns())
    whole = calibrate(Progress())
    interrupted = FakeRuns(interrupt_at=5)  # 3 A/A runs and one injected run finished
    monkeypatch.setattr(gate_check, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        calibrate(Progress(path, SETTINGS))
    kept = json.loads(path.read_text())
    assert kept["settings"] == SETTINGS
    assert {group: len(runs) for group, runs in kept["groups"].items()} == {"aa": 3, "+0.05 gru train": 1}

    resumed = FakeRuns()
    resumed.finished = interrupted.finished  # the runs' numbers go on where they stopped
    monkeypatch.setattr(gate_check, "_run", resumed)
    progress = Progress(path, SETTINGS, resume=True)
    result = calibrate(progress)
    assert resumed.calls == 2  # only the two injected runs not kept
    assert result["samples"] == whole["samples"]
    assert result["thresholds"] == whole["thresholds"] and result["measured"]["injected"] == whole["measured"]["injected"]
    progress.finish()
    assert not path.exists()


def test_kept_runs_are_refused_where_they_would_be_overwritten_or_pooled_with_others(tmp_path):
    path = partial_path(tmp_path / "kind.json")
    progress = Progress(path, SETTINGS)
    progress.runs("aa").append({"samples": {}, "seconds": 1.0})
    progress.keep()
    with pytest.raises(ValueError, match="kind.json.partial: an interrupted measurement's finished runs"):
        Progress(path, SETTINGS)
    with pytest.raises(ValueError, match=r"other settings \(runs 3 there, 20 now\)"):
        Progress(path, {**SETTINGS, "runs": 20}, resume=True)
    assert Progress(path, SETTINGS, resume=True).count == 1
    with pytest.raises(ValueError, match="keeps no finished runs"):
        Progress(None, SETTINGS, resume=True)
