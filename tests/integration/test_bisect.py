"""``bisect`` on real git histories: the range and its checks in small repositories, the
bad inputs that need one, and the real command on a synthetic history of this checkout, where
one commit changes lstm's numbers, one makes basic_lstm's train step slower by a real code
change and one does not run. (The search and the judges' rules: tests/unit/test_bisect.py.)"""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from rnn_models.bisect import history
from rnn_models.bisect.search import SKIP
from rnn_models.bisect.speed_judge import SpeedJudge
from rnn_models.selfcheck import synthetic_history as synthetic
from rnn_models.speed import worktree
from tests import ROOT
from tests.unit.test_bisect import run_cli

CALIBRATED = ROOT / "baselines"  # this machine kind's A/B calibration

# --- the range and its checks -----------------------------------------------------------


git = synthetic.git_output  # the library's committer: one git helper, not one per test file


def commit_file(repo, name, text, subject):
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", subject)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def small_repo(tmp_path):
    """a - b - m (merge of side branch s) - c, with a file under rnn_models/."""
    repo = tmp_path / "small"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    shas = {"a": commit_file(repo, "rnn_models/x.py", "x = 1\n", "a: first")}
    git(repo, "checkout", "-q", "-b", "side")
    shas["s"] = commit_file(repo, "side.txt", "s\n", "s: on the side branch")
    git(repo, "checkout", "-q", "main")
    shas["b"] = commit_file(repo, "b.txt", "b\n", "b: second")
    git(repo, "merge", "-q", "--no-ff", "-m", "m: merge side", "side")
    shas["m"] = git(repo, "rev-parse", "HEAD")
    shas["c"] = commit_file(repo, "rnn_models/x.py", "x = 2\n", "c: third")
    return repo, shas


def test_the_range_is_good_then_the_first_parent_commits_up_to_bad(small_repo):
    repo, shas = small_repo
    commits = history.first_parent_range(repo, shas["a"][:7], "main")
    assert [c.sha for c in commits] == [shas[k] for k in "abmc"]
    assert [c.subject for c in commits] == ["a: first", "b: second", "m: merge side", "c: third"]


@pytest.mark.parametrize("good, bad, message", [
    ("nope", "main", "--good nope: not a commit in"),
    ("a", "nope", "--bad nope: not a commit in"),
    ("c", "a", "is not an ancestor of --bad"),
    ("s", "b", "is not an ancestor of --bad"),
    ("c", "main", "are the same commit"),
])
def test_a_range_that_is_not_one_is_refused(small_repo, good, bad, message):
    repo, shas = small_repo
    with pytest.raises(ValueError, match=message):
        history.first_parent_range(repo, shas.get(good, good), shas.get(bad, bad))


def test_a_shallow_clone_is_refused(small_repo, tmp_path):
    repo, shas = small_repo
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{repo}", str(shallow))
    with pytest.raises(ValueError, match="is a shallow clone: .*fetch-depth: 0"):
        history.first_parent_range(shallow, "HEAD~1", "HEAD")


def test_uncommitted_code_matters_only_when_bad_is_head(small_repo):
    repo, shas = small_repo
    (repo / "notes.md").write_text("untracked notes do not matter\n")
    assert history.uncommitted_code(repo, shas["c"]) is None
    (repo / "rnn_models" / "x.py").write_text("x = 3\n")
    assert "uncommitted changes to rnn_models/x.py" in history.uncommitted_code(repo, shas["c"])
    assert history.uncommitted_code(repo, shas["m"]) is None


# --- bad input: exit 2 and one line, before any work -----------------------------------


@pytest.mark.parametrize("extra, message", [
    (["--cells", "nope"], "argument --cells: Unknown cell(s) nope."),
    (["--cells", "lstm", "--metric", "numerics", "--phase", "train"],
     "--phase applies to --metric speed, not numerics"),
    (["--cells", "lstm", "--steps", "2"], "--steps applies to --metric numerics or accuracy, not speed"),
    (["--cells", "lstm", "--metric", "numerics", "--rounds", "2"], "--rounds applies to --metric speed or accuracy"),
    (["--cells", "lstm", "--metric", "accuracy", "--good-seeds", "2"], "--good-seeds: expected an integer >= 3"),
    (["--cells", "lstm", "--good", "nope"], "--good nope: not a commit in"),
    (["--cells", "lstm", "--good", "c", "--bad", "a"], "is not an ancestor of --bad"),
    (["--cells", "lstm", "--baselines", "{tmp}/empty"], "no A/B gate calibration under"),
    (["--cells", "lstm", "--repo", "{tmp}"], "is not inside a git checkout"),
])
def test_bad_input_is_one_line_and_exit_2(small_repo, capsys, tmp_path, monkeypatch, extra, message):
    repo, shas = small_repo
    (tmp_path / "empty").mkdir()
    argv = ["bisect", "--repo", repo, "--good", "a", "--bad", "c", *extra]
    argv = [shas.get(a, a) if isinstance(a, str) else a for a in argv]
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in argv]
    monkeypatch.setattr(worktree, "checkout", lambda *a: pytest.fail("a worktree before the checks"))
    code, out, err = run_cli(capsys, argv)
    assert code == 2 and out == "", err
    errors = [line for line in err if " error: " in line]
    assert len(errors) == 1 and message in errors[0], err


def test_a_dirty_tree_is_refused_when_bad_is_head(small_repo, capsys):
    repo, shas = small_repo
    (repo / "rnn_models" / "x.py").write_text("x = 3\n")
    code, _, err = run_cli(capsys, ["bisect", "--repo", repo, "--good", shas["a"], "--bad", "HEAD",
                                    "--cells", "lstm", "--metric", "numerics"])
    assert code == 2 and err == [f"rnn_models bisect: error: --bad {shas['c'][:12]} is HEAD, and the working "
                                 "tree has uncommitted changes to rnn_models/x.py, which a bisect of "
                                 "commits cannot see: commit or stash them, or name another --bad"]


# --- the real command on a synthetic history ---------------------------------------------

BROKEN, NUMERICS, SLOWER = 2, 4, 8  # the commits of each change


@pytest.fixture(scope="module")
def synthetic_history(tmp_path_factory):
    """10 commits after a copy of this checkout: 2 imports a module that is not installed
    (3 drops it), 4 changes lstm's default forget_bias, 8 computes basic_lstm's gate product
    over 1000 extra columns (several times the train step's matmul work)."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    changes = {BROKEN: synthetic.missing_dependency(), BROKEN + 1: synthetic.dependency_removed(),
               NUMERICS: synthetic.forget_bias(0.9), SLOWER: synthetic.wider_gates(1000)}
    return repo, synthetic.build(ROOT, repo, changes, commits=10)


def checkout_state(repo):
    """What the user's checkout is: status, HEAD, branch, index bytes, worktrees."""
    return (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"),
            git(repo, "symbolic-ref", "HEAD"), hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest(),
            git(repo, "worktree", "list", "--porcelain").count("worktree "))


def bisect_in(repo, shas, capsys, monkeypatch, tmp_path, *extra):
    """``main(["bisect", ...])`` with this test's own temporary folder, and its output."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = checkout_state(repo)
    code, out, err = run_cli(capsys, ["bisect", "--repo", repo, "--good", shas[0], "--bad", shas[-1], *extra])
    assert checkout_state(repo) == before and before[-1] == 1  # untouched, no worktree left
    assert list(tmp_path.iterdir()) == []  # every worktree and temporary file removed
    return code, out.splitlines(), err


@pytest.mark.heavy
def test_numerics_bisect_names_the_changed_constant_and_skips_what_does_not_run(
        synthetic_history, capsys, monkeypatch, tmp_path):
    repo, shas = synthetic_history
    code, lines, err = bisect_in(repo, shas, capsys, monkeypatch, tmp_path,
                                 "--cells", "lstm", "--metric", "numerics", "--steps", "2")
    assert code == 0, (lines, err)
    assert lines[-1] == f"first bad commit: {shas[NUMERICS]} lstm: default forget_bias 0.9"
    steps = [line for line in lines if line.startswith("[")]
    assert steps[0].startswith(f"[1] {shas[-1][:12]} notes: line 10: bad (differs) lstm: train window 1 loss")
    assert any(f"{shas[BROKEN][:12]} cells: import a dependency that is not installed: skip (does not run)"
               in line and "rnnbench_missing_dependency" in line for line in steps), steps
    assert any(line.startswith(f"skipped (does not run): {shas[BROKEN]} ") for line in lines)
    assert any(f"{shas[BROKEN + 1][:12]} " in line and ": good (identical) " in line for line in steps)


@pytest.mark.heavy
def test_speed_bisect_names_the_commit_that_made_the_train_step_slower(
        synthetic_history, capsys, monkeypatch, tmp_path):
    repo, shas = synthetic_history
    # From two commits before the slow one: three judgments (the bad end, then both sides of
    # the slow commit) where the whole range takes four, each starting its worker pairs afresh.
    # Two pairs, not the default four: still units rotated over real pairs, at half the processes.
    code, lines, err = bisect_in(repo, shas[SLOWER - 2:], capsys, monkeypatch, tmp_path,
                                 "--cells", "basic_lstm", "--baselines", CALIBRATED, "--worker-pairs", "2")
    if code == 1:  # an A/A step still inconclusive after every round: suspects, never a guess
        suspects = [line.split()[1] for line in lines if line.startswith("suspect: ")]
        assert lines[-1].startswith("no single first bad commit: ") and shas[SLOWER] in suspects, lines
        assert any("inconclusive" in line for line in lines if line.startswith("suspect: ")), lines
        pytest.xfail(f"a noisy machine: {len(suspects)} suspects, the slow commit among them")
    assert code == 0, (lines, err)
    assert lines[-1] == f"first bad commit: {shas[SLOWER]} basic_lstm: gate product over 1000 extra columns"
    slower = next(line for line in lines if line.startswith("[") and f" {shas[SLOWER][:12]} " in line)
    ratio = float(slower.split("bad (slower) basic_lstm ")[1].split()[0])
    assert ratio > 1.5, slower  # a clear regression, measured as one
    assert ", 2 worker pairs" in slower, slower  # its units were timed by both pairs
    assert all(" good (" in line for line in lines  # unchanged, or faster: not worse than good
               if line.startswith("[") and any(f" {s[:12]} " in line for s in shas[:SLOWER]))


def test_accuracy_bisect_finds_no_regression_where_seed_0_is_identical(
        synthetic_history, capsys, monkeypatch, tmp_path):
    repo, shas = synthetic_history
    shas = shas[:BROKEN + 2]  # up to the commit that drops the missing dependency: good's code again
    code, lines, err = bisect_in(repo, shas, capsys, monkeypatch, tmp_path, "--cells", "lstm",
                                 "--metric", "accuracy", "--epochs", "1", "--steps", "2", "--good-seeds", "3")
    assert code == 1, (lines, err)
    assert lines[1].startswith(f"[1] {shas[-1][:12]} cells: drop the dependency that is not installed: "
                               "good (identical) lstm: seed 0 bit-identical to good's; ")
    assert lines[-1].startswith(f"no regression in the range: --bad {shas[-1][:12]} is not worse than --good")


def test_a_speed_step_on_a_commit_that_does_not_run_is_a_skip(synthetic_history, tmp_path):
    repo, shas = synthetic_history
    from rnn_models.records.calibrations import load_calibration
    from rnn_models.speed.ab import real_batch

    thresholds, _ = load_calibration(CALIBRATED)
    with worktree.checkout(repo, shas[0]) as good, worktree.checkout(repo, shas[BROKEN]) as broken:
        # One worker pair: the broken side fails at its first request however many pairs start.
        judge = SpeedJudge(good, ["basic_lstm"], "train", "CPU:0", real_batch(n=32), thresholds, 1,
                           tmp_path, pairs=1)
        judgment = judge(history.Commit(shas[BROKEN], "broken"), broken)
    assert judgment.verdict == SKIP and "current worker: " in judgment.measure
    assert "No module named 'rnnbench_missing_dependency'" in judgment.measure


def test_sigterm_stops_the_bisect_and_removes_its_worktrees(synthetic_history, tmp_path):
    repo, shas = synthetic_history
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "rnn_models", "bisect", "--repo", str(repo), "--good", shas[0],
         "--bad", shas[-1], "--cells", "lstm", "--metric", "numerics", "--steps", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while git(repo, "worktree", "list").count("\n") < 1 and time.monotonic() < deadline:
            time.sleep(0.2)  # until the good commit's worktree exists
        time.sleep(2)  # and its run has started
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 143, (out, err)
    assert err.strip().splitlines()[-1] == "rnn_models bisect: interrupted (SIGTERM)"
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert [p.name for p in temp.iterdir() if p.name.startswith("rnnbench-")] == []
    assert git(repo, "status", "--porcelain") == ""


# --- bisect-check on a synthetic history -----------------------------------------------


def test_bisect_check_aa_builds_no_slowdown_and_counts_a_run_naming_nothing_as_right(monkeypatch, tmp_path):
    from rnn_models.selfcheck import bisect_check as experiment

    named = iter([None, "f" * 40])  # the second run names a commit: a false alarm

    def fake_bisect(repo, shas, baselines, pairs, data=None):
        assert pairs == 4 and all(git(repo, "log", "-1", "--format=%s", s).startswith("notes: ") for s in shas[1:])
        sha = next(named)
        last = f"first bad commit: {sha} notes: line 1" if sha else "no regression in the range: ..."
        return (0 if sha else 1), f"[1] ...\n{last}\n", "", 1.0

    monkeypatch.setattr(experiment, "run_bisect", fake_bisect)
    monkeypatch.setattr(experiment, "tune", lambda *a, **k: pytest.fail("an A/A check tunes nothing"))
    out = tmp_path / "aa.json"
    result = experiment.experiment(out, repeats=2, commits=2, position=1, slowdown=0.15, tolerance=0.02,
                                   tune_tries=1, baselines=CALIBRATED, aa=True, log=lambda line: None)
    assert result["tuning"] is None and result["history"]["slow_commit"] is None
    assert [r["right"] for r in result["runs"]] == [True, False]
    assert result["summary"]["named_right"] == 1 and result["summary"]["named_wrong"] == 1
    assert json.loads(out.read_text()) == result
