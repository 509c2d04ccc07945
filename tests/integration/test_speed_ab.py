"""The same-run A/B with real processes and git: the worker protocol, every fallback when
the baseline ref cannot be had, and one small real A/B between two commits. (The stored-run
reader, the calibrations and the session's logic on stand-in workers: tests/unit.)"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnn_models.records.speed_runs import machine_id
from rnn_models.regression.rules import parse_rule
from rnn_models.selfcheck import synthetic_history as synthetic
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABSession, ABUnavailable, WorkerProcess
from rnn_models.speed.gate import SpeedGate, check_speed_inputs
from rnn_models.speed.measure import SpeedResult
from tests import ROOT
from tests.unit.test_speed_ab import FIXTURE_RUN, batch, write_calibration

RULES = [parse_rule("median:150%"), parse_rule("torch_ratio:60%")]


git = synthetic.git_output  # the library's committer: one git helper, not one per test file


def speed_result(cell="lstm", phase="train", median=0.0122, ratio=None):
    return SpeedResult(cell=cell, device="CPU:0", phase=phase, batch=128, units=31,
                       kernel_path="generic loop", flops_per_step=1, median_s=median, q1_s=median,
                       q3_s=median, loss=1.0, ratio_to_torch=ratio)


@pytest.fixture
def repo(tmp_path):
    """A git repo holding a copy of this package at one commit, with a stored speed run."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "rnn_models", repo / "rnn_models",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    git(tmp_path, "init", "-q", str(repo))
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "baseline")
    return repo


def gate_for(repo, tmp_path, ref=None, calibrate=True, **kwargs):
    storage = tmp_path / "storage"
    (storage / machine_id()).mkdir(parents=True, exist_ok=True)
    run = json.loads(FIXTURE_RUN.read_text())
    run["commit_info"] = {"id": git(repo, "rev-parse", "HEAD") if (repo / ".git").exists() else "abc",
                          "dirty": False}
    (storage / machine_id() / "0001_baseline.json").write_text(json.dumps(run))
    baselines = tmp_path / "baselines"
    baselines.mkdir(exist_ok=True)
    if calibrate:
        write_calibration(baselines)
    return SpeedGate(storage, baselines, RULES, family_size=2, ref=ref, current_root=repo, **kwargs)


# --- the worker protocol -----------------------------------------------------------


def test_worker_protocol(tmp_path):
    worker = WorkerProcess("current", ROOT, tmp_path)
    try:
        hello = worker.request({"op": "hello"}, timeout=300)
        assert hello["api"] == "rnn_models.speed.measure.build_step"
        assert Path(hello["rnn_models"]) == ROOT / "rnn_models"
        assert set(hello["versions"]) == {"tensorflow", "keras", "numpy", "python"}
        usable = sorted(os.sched_getaffinity(worker.process.pid))
        core = worker.request({"op": "pin", "slot": 1}, timeout=60)["core"]
        assert core == usable[1 % len(usable)]
        np.savez(tmp_path / "b.npz", x=batch()[0], y=batch()[1])
        built = worker.request({"op": "build", "key": "k", "cell": "basic_rnn", "phase": "inference",
                                "device": "CPU:0", "batch": str(tmp_path / "b.npz")}, timeout=300)
        assert built["kernel_path"] == "generic loop, unrolled" and built["step_s"] > 0
        threads = os.listdir(f"/proc/{worker.process.pid}/task")  # TensorFlow's pools included
        assert len(threads) > 2 and {frozenset(os.sched_getaffinity(int(t))) for t in threads} == {frozenset({core})}
        moved = worker.request({"op": "pin", "slot": 0}, timeout=60)["core"]  # pinned again once built
        threads = os.listdir(f"/proc/{worker.process.pid}/task")
        assert moved == usable[0] and {frozenset(os.sched_getaffinity(int(t))) for t in threads} == {frozenset({moved})}
        times = worker.request({"op": "time", "key": "k", "steps": 9}, timeout=60)["times"]
        slowed = worker.request({"op": "time", "key": "k", "steps": 9, "slowdown": 1.0}, timeout=60)["times"]
        assert len(times) == len(slowed) == 9 and np.median(slowed) > 1.5 * np.median(times)
        with pytest.raises(ABUnavailable, match="build: ValueError: Unknown cell 'nope'"):
            worker.request({"op": "build", "key": "x", "cell": "nope", "phase": "train",
                            "device": "CPU:0", "batch": str(tmp_path / "b.npz")}, timeout=60)
        with pytest.raises(ABUnavailable, match="unknown op 'rm'"):
            worker.request({"op": "rm"}, timeout=60)
        assert worker.request({"op": "drop", "key": "k"}, timeout=60)["ok"]
    finally:
        worker.close()
    assert worker.process.returncode == 0
    assert (tmp_path / "worker-current.log").exists()


def test_a_broken_checkout_is_one_line_naming_the_log(tmp_path):
    (tmp_path / "rnn_models").mkdir()
    (tmp_path / "rnn_models" / "__init__.py").write_text("raise ImportError('a broken checkout')\n")
    worker = WorkerProcess("baseline", tmp_path, tmp_path)
    try:
        with pytest.raises(ABUnavailable, match="baseline worker: hello: ImportError: a broken checkout.*"
                                                "log .*worker-baseline.log"):
            worker.request({"op": "hello"}, timeout=300)
    finally:
        worker.close()


def test_a_worker_that_died_is_one_line(tmp_path):
    worker = WorkerProcess("current", ROOT, tmp_path)
    worker.process.kill()
    worker.process.wait()
    with pytest.raises(ABUnavailable, match="current worker: hello: the worker (is gone|exited)"):
        worker.request({"op": "hello"}, timeout=60)
    worker.close()


def test_a_side_must_run_its_own_checkout(tmp_path):
    empty = tmp_path / "checkout"  # no rnn_models: an installed copy would be imported instead
    empty.mkdir()
    with pytest.raises(ABUnavailable, match="the baseline worker imported rnn_models from .*, not from its checkout"):
        ABSession(ROOT, empty, batch(), None, log_dir=tmp_path)


# --- fallbacks: the ref cannot be had ----------------------------------------------


def test_without_git_the_gate_falls_back_and_says_so(tmp_path, repo, monkeypatch):
    gate = gate_for(repo, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    outcome = gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(), batch())
    assert outcome.mode == "fallback" and outcome.verdict == "within rules" and not outcome.fails
    assert any("speed A/B unavailable: git is not installed; falling back" in n for n in gate.notes)


def test_outside_a_checkout_the_gate_falls_back(tmp_path, repo):
    shutil.rmtree(repo / ".git")
    gate = gate_for(repo, tmp_path)
    gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(), batch())
    assert any("is not inside a git checkout" in n for n in gate.notes)


def test_a_missing_ref_falls_back(tmp_path, repo):
    gate = gate_for(repo, tmp_path, ref="no-such-ref")
    outcome = gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(median=0.05), batch())
    assert any("the ref no-such-ref is not in" in n for n in gate.notes)
    assert outcome.fails and "median 0.05 is over 0.0305" in outcome.detail  # the fallback still gates


def shallow_clone(repo, tmp_path):
    """``(first commit, a depth-1 clone of the second)``: the clone lacks the first."""
    first = git(repo, "rev-parse", "HEAD")
    (repo / "extra.txt").write_text("x")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "second")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    return first, shallow


def test_a_shallow_clone_says_to_fetch_the_history(tmp_path, repo):
    first, shallow = shallow_clone(repo, tmp_path)
    with pytest.raises(worktree.RefUnavailable, match="shallow clone .*fetch-depth: 0"):
        worktree.resolve(shallow, first)
    assert worktree.fetch_commit(shallow, first)  # its remote answers: the commit comes
    assert worktree.resolve(shallow, first) == first


def test_a_shallow_clone_without_the_commit_fails_every_step_with_the_fix(tmp_path, repo):
    first, shallow = shallow_clone(repo, tmp_path)
    git(shallow, "remote", "remove", "origin")  # as a CI checkout whose remote cannot be reached
    gate = gate_for(shallow, tmp_path, ref=first)
    outcome = gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(), batch())
    assert outcome.fails and outcome.verdict == "cannot judge" and outcome.mode == "error"
    assert "not in this shallow clone" in outcome.detail and "fetch-depth: 0" in outcome.detail
    assert "--no-ab" in outcome.detail
    assert gate.check("test_step_speed[lstm-CPU:0-inference]", speed_result(phase="inference"), batch()).fails


def stored_run_at(tmp_path, commit):
    """``(baselines, storage)``: a calibration, and a stored speed run recorded at ``commit``."""
    storage = tmp_path / "storage"
    (storage / machine_id()).mkdir(parents=True, exist_ok=True)
    run = json.loads(FIXTURE_RUN.read_text())
    run["commit_info"] = {"id": commit, "dirty": False}
    (storage / machine_id() / "0001_baseline.json").write_text(json.dumps(run))
    write_calibration(tmp_path / "baselines")
    return tmp_path / "baselines", storage


def test_the_stored_run_s_commit_that_a_shallow_clone_cannot_get_is_bad_input_before_timing(tmp_path, repo):
    first, shallow = shallow_clone(repo, tmp_path)
    baselines, storage = stored_run_at(tmp_path, first)
    git(shallow, "remote", "remove", "origin")
    with pytest.raises(ValueError, match=f"^the speed A/B cannot run: the stored speed run's commit {first[:12]} "
                                         "is not in this shallow clone .* no remote 'origin' .*fetch-depth: 0, "
                                         "or `git fetch --unshallow`.*--no-ab"):
        check_speed_inputs(baselines, root=shallow, storage=storage)
    check_speed_inputs(baselines, root=repo, storage=storage)  # a full clone has it
    missing = stored_run_at(tmp_path / "other", "f" * 40)
    check_speed_inputs(*missing[:1], root=repo, storage=missing[1])  # not a shallow cut: the gate falls back


def test_dependencies_that_differ_fall_back(tmp_path, repo):
    base = git(repo, "rev-parse", "HEAD")
    text = (repo / "pyproject.toml").read_text().replace('"keras>=3.0"', '"keras>=3.5"')
    (repo / "pyproject.toml").write_text(text)
    gate = gate_for(repo, tmp_path, ref=base)
    gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(), batch())
    assert any("pyproject.toml dependencies differ" in n and "keras>=3.5" in n for n in gate.notes)


def test_a_baseline_commit_that_does_not_build_falls_back_in_one_line(tmp_path, repo):
    init = repo / "rnn_models" / "__init__.py"
    good = init.read_text()
    init.write_text("raise ImportError('a broken baseline')\n" + good)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "broken")
    broken = git(repo, "rev-parse", "HEAD")
    init.write_text(good)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "fixed")
    gate = gate_for(repo, tmp_path, ref=broken)
    gate.prepare("lstm", "train", "CPU:0", batch())  # the suite's order: the session starts here
    gate.wait_built()
    outcome = gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(median=0.05), batch())
    unavailable = [n for n in gate.notes if n.startswith("speed A/B unavailable: ")]
    assert len(unavailable) == 1 and "\n" not in unavailable[0], gate.notes
    assert "baseline worker: hello: ImportError: a broken baseline" in unavailable[0]
    assert "falling back to the stored-run rules (median:150%, torch_ratio:60%)" in unavailable[0]
    assert outcome.mode == "fallback" and outcome.fails and "median 0.05 is over 0.0305" in outcome.detail
    gate.close()
    assert git(repo, "worktree", "list").count("\n") == 0  # its worktree removed


def test_no_calibration_falls_back(tmp_path, repo):
    gate = gate_for(repo, tmp_path, calibrate=False)
    outcome = gate.check("test_step_speed[lstm-CPU:0-train]", speed_result(), batch())
    assert any("no A/B gate calibration is stored in" in n and "gate-check" in n for n in gate.notes)
    assert outcome.judged_by == "stored-run rules (median:150%, torch_ratio:60%)"


def test_a_named_ref_that_does_not_exist_is_bad_input(tmp_path, repo):
    write_calibration(tmp_path)
    with pytest.raises(ValueError, match="^--ab-ref no-such-ref: the ref no-such-ref is not in"):
        check_speed_inputs(tmp_path, "no-such-ref", root=repo)
    check_speed_inputs(tmp_path, "HEAD", root=repo)  # one that exists passes


def test_a_step_the_stored_run_lacks_is_reported_not_gated(tmp_path, repo):
    gate = gate_for(repo, tmp_path, ab=False)
    outcome = gate.check("test_step_speed[gru-CPU:0-inference]", speed_result("gru", "inference"), batch())
    assert outcome.verdict == "not gated" and "no stored entry" in outcome.detail
    assert "not gated" in gate.table() and "| gru | inference |" in gate.table(markdown=True)


def test_a_killed_runs_worktree_is_removed_by_the_next(tmp_path, repo):
    commit = git(repo, "rev-parse", "HEAD")
    stale = tmp_path / f"{worktree.PREFIX}dead" / "wt"
    git(repo, "worktree", "add", "--detach", "--lock", "--reason", "rnnbench A/B, pid 999999999",
        str(stale), commit)
    with worktree.checkout(repo, commit) as path:
        assert (path / "rnn_models").is_dir()
        listed = git(repo, "worktree", "list")
        assert str(stale) not in listed and str(path) in listed
    assert git(repo, "worktree", "list").count("\n") == 0  # only the main checkout is left


# --- one small real A/B ---------------------------------------------------------------


@pytest.mark.heavy
def test_a_real_ab_finds_a_committed_slowdown(tmp_path, repo):
    """The baseline commit against a working tree whose basic_lstm computes its gate product over
    1000 more kernel columns (the synthetic history's known slowdown, several times the work)."""
    synthetic.wider_gates(1000).apply(repo)
    gate = gate_for(repo, tmp_path, ref="HEAD")
    try:
        gate.prepare("basic_lstm", "inference", "CPU:0", batch())  # as the suite: built ahead, then checked
        gate.wait_built()
        outcome = gate.check("test_step_speed[basic_lstm-CPU:0-inference]",
                             speed_result("basic_lstm", "inference"), batch())
    finally:
        gate.close()
    assert outcome.mode == "ab", gate.notes
    # past 1.1 is far from noise, and far under the work the change adds
    assert outcome.verdict == "slower" and outcome.fails and outcome.ab.decision.low > 1.1, outcome.ab
    assert "(slower); with 1 retime in fresh workers, " in outcome.detail
    assert outcome.judged_by.startswith("A/B retimed in fresh workers")
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob(f"{worktree.PREFIX}*/{git(repo, 'rev-parse', 'HEAD')[:12]}"))
