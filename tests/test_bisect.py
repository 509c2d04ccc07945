"""``bisect``: the search over a judge (every path, no git or TensorFlow), the range and its
checks in small git repositories, the bad inputs, the judges' rules on stand-in runs, and the
real command on a synthetic history of this checkout, where one commit changes lstm's numbers,
one makes basic_lstm's train step slower by a real code change and one does not run."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rnn_models.bisect import history, report, search
from rnn_models.bisect.accuracy_judge import AccuracyJudge
from rnn_models.bisect.runs import RunFailed, train_argv
from rnn_models.bisect.search import BAD, GOOD, INCONCLUSIVE, SKIP, Judgment
from rnn_models.bisect.speed_judge import SpeedJudge
from rnn_models.commands import build_parser, main
from rnn_models.regression.accuracy import Policy
from rnn_models.selfcheck import synthetic_history as synthetic
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABUnavailable
from rnn_models.suite.matrix import matrix_config
from tests.test_baseline import make_result

ROOT = Path(__file__).resolve().parents[1]
CALIBRATED = ROOT / "baselines"  # this machine kind's A/B calibration


def judged(verdicts):
    """A judge that answers ``verdicts[commit]`` (a commit is its index here), and its calls."""
    calls = []

    def judge(commit):
        calls.append(commit)
        return Judgment(verdicts[commit], verdicts[commit], f"measure of {commit}")

    return judge, calls


def monotone(n, first_bad):
    return [GOOD if i < first_bad else BAD for i in range(n + 1)]


# --- the search -------------------------------------------------------------------------


@pytest.mark.parametrize("first_bad", range(1, 9))
def test_every_first_bad_commit_is_found_in_a_halving_of_the_range(first_bad):
    judge, calls = judged(monotone(8, first_bad))
    outcome = search.bisect(list(range(9)), judge)
    assert outcome.status == search.FOUND and outcome.first_bad == first_bad
    assert calls[0] == 8  # the claimed-bad commit first
    assert len(calls) <= search.expected_steps(range(9)) == 4
    assert [s.commit for s in outcome.steps] == calls


def test_a_skipped_commit_is_stepped_around():
    verdicts = monotone(8, 6)
    verdicts[4] = SKIP  # the middle of the range does not run
    judge, calls = judged(verdicts)
    outcome = search.bisect(list(range(9)), judge)
    assert outcome.status == search.FOUND and outcome.first_bad == 6
    assert 4 in calls and [s.commit for s in outcome.skipped] == [4]


@pytest.mark.parametrize("unclear", [SKIP, INCONCLUSIVE])
def test_an_unjudged_commit_before_the_first_bad_leaves_suspects(unclear):
    verdicts = monotone(8, 6)
    verdicts[5] = unclear
    judge, calls = judged(verdicts)
    outcome = search.bisect(list(range(9)), judge)
    assert outcome.status == search.SUSPECTS and outcome.suspects == (5, 6) and outcome.first_bad is None
    assert sorted(calls) == [4, 5, 6, 8]


@pytest.mark.parametrize("verdict, status", [(GOOD, search.NO_REGRESSION),
                                             (INCONCLUSIVE, search.NOT_ESTABLISHED),
                                             (SKIP, search.BAD_DOES_NOT_RUN)])
def test_the_claimed_bad_commit_decides_whether_there_is_a_search(verdict, status):
    judge, calls = judged([GOOD] * 8 + [verdict])
    outcome = search.bisect(list(range(9)), judge)
    assert outcome.status == status and calls == [8] and outcome.suspects == ()


def test_each_step_is_reported_as_it_is_judged_with_what_is_left_in_doubt():
    judge, _ = judged(monotone(8, 3))
    seen = []
    ticks = iter(range(100))
    outcome = search.bisect(list(range(9)), judge, on_step=seen.append, clock=lambda: next(ticks))
    assert seen == list(outcome.steps)
    assert [s.in_doubt for s in seen] == [8, 4, 2, 1] and all(s.seconds == 1 for s in seen)


def test_a_range_needs_two_commits_and_a_judgment_a_known_verdict():
    with pytest.raises(ValueError, match="at least one later commit"):
        search.bisect(["good"], lambda c: None)
    with pytest.raises(ValueError, match="verdict must be one of"):
        Judgment("worse", "slower", "")


def test_a_commit_is_its_worst_cell_and_keeps_every_measure():
    good, bad = Judgment(GOOD, "unchanged", "a 1.0"), Judgment(BAD, "slower", "b 1.5")
    skip, unclear = Judgment(SKIP, "does not run", "c"), Judgment(INCONCLUSIVE, "inconclusive", "d 1.05")
    assert search.combine([good, bad, skip]) == Judgment(BAD, "slower", "a 1.0; b 1.5; c")
    assert search.combine([good, unclear, skip]).verdict == SKIP
    assert search.combine([good, unclear]).verdict == INCONCLUSIVE
    assert search.combine([good, Judgment(GOOD, "faster", "e 0.8")]).label == "unchanged, faster"


def test_the_budget_repeats_the_last_look():
    assert search.budget_looks((16, 32), 1) == (16, 32)
    assert search.budget_looks((16, 32), 3) == (16, 32, 64, 96)
    with pytest.raises(ValueError):
        search.budget_looks((16, 32), 0)
    assert [search.expected_steps(range(n + 1)) for n in (1, 2, 8, 9)] == [1, 2, 4, 5]


# --- the report -------------------------------------------------------------------------


def commits(n):
    return [history.Commit(f"{i:040x}", f"subject {i}") for i in range(n + 1)]


def test_the_report_ends_with_the_first_bad_commit():
    judge, _ = judged(monotone(8, 5))
    outcome = search.bisect(commits(8), lambda c: judge(int(c.sha, 16)))
    line = report.step_line(1, outcome.steps[0])
    assert line.startswith("[1] 000000000000 subject 8: bad measure of 8; ") and line.endswith(" s, 8 in doubt")
    table = report.table(outcome).splitlines()
    assert [c.strip() for c in table[0].split(" | ")] == ["#", "commit", "subject", "verdict", "measure", "time"]
    assert [row.split(" | ")[0].strip() for row in table[2:]] == ["4", "5", "6", "8"]  # history order
    assert report.conclusion(outcome)[-1] == f"first bad commit: {5:040x} subject 5"


def test_the_report_lists_skipped_commits_and_suspects():
    verdicts = monotone(8, 6)
    verdicts[5] = SKIP
    judge, _ = judged(verdicts)
    outcome = search.bisect(commits(8), lambda c: judge(int(c.sha, 16)))
    lines = report.conclusion(outcome, " after 3 rounds")
    assert lines == [f"skipped (does not run): {5:040x} subject 5: measure of 5",
                     f"suspect: {5:040x} subject 5 (skipped)",
                     f"suspect: {6:040x} subject 6 (the first bad of those judged)",
                     "no single first bad commit: 2 suspects remain after 3 rounds"]


# --- the range and its checks -----------------------------------------------------------


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), *synthetic.IDENTITY, *args], check=True,
                          capture_output=True, text=True).stdout.strip()


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


def run_cli(capsys, argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


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


# --- the judges' rules, on stand-in runs ------------------------------------------------


def test_the_train_command_is_the_config_the_cli_parses():
    config = matrix_config("ln_basic_lstm", epochs=2).replace(steps_per_epoch=3)
    args = build_parser().parse_args(train_argv(config, [0, 4], "out"))
    assert (args.cell, args.epochs, args.clip, args.steps_per_epoch, args.seeds) == \
           ("ln_basic_lstm", 2, config.clip_norm, 3, [0, 4])
    assert dict(args.cell_arg) == config.cell_kwargs and args.quiet


def test_a_speed_failure_skips_the_commit_unless_good_or_an_interrupt_caused_it():
    skip = SpeedJudge._unavailable(ABUnavailable("current worker: build: ImportError: x", "current"))
    assert skip == Judgment(SKIP, "does not run", "current worker: build: ImportError: x")
    with pytest.raises(search.GoodDoesNotRun, match="the good commit does not run: baseline worker"):
        SpeedJudge._unavailable(ABUnavailable("baseline worker: hello: exited", "baseline"))
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ABUnavailable("current worker: time: the worker exited", "current")
    except ABUnavailable as err:
        with pytest.raises(KeyboardInterrupt):
            SpeedJudge._unavailable(err)


GOOD_FINALS = [0.900, 0.905, 0.895] * 3 + [0.900]  # a spread of about 0.4 points


def stand_in_runs(level):
    """``train_seeds`` for roots named by their accuracy: ``good`` the reference level,
    ``same`` good's runs bit for bit, a number that level with good's spread."""
    def train(root, config, seeds, out, data=None):
        name = Path(root).name
        if name == "broken":
            raise RunFailed("train exited 2: ModuleNotFoundError")
        shift = 0.0 if name in ("good", "same") else level[name]
        runs = []
        for seed in seeds:
            acc = GOOD_FINALS[seed % len(GOOD_FINALS)] - shift + (0.0 if name in ("good", "same") else 1e-9)
            runs.append(make_result(config.cell, test_accuracy=(acc, acc, acc), seed=seed))
        return runs

    return train


@pytest.mark.parametrize("root, verdict, label", [
    ("same", GOOD, "identical"), ("close", GOOD, "pass"), ("drop", BAD, "fail"),
    ("unclear", INCONCLUSIVE, "inconclusive"), ("broken", SKIP, "does not run"),
])
def test_accuracy_judgments_follow_the_accuracy_gate(monkeypatch, tmp_path, root, verdict, label):
    from rnn_models.bisect import accuracy_judge

    monkeypatch.setattr(accuracy_judge, "train_seeds",
                        stand_in_runs({"close": 0.0, "drop": 0.05, "unclear": 0.0048}))
    config = make_result("lstm").config
    # Unpaired, 1-point target: the stand-ins shift every seed alike, which a paired look fails at once.
    policy = Policy(target_drop=0.01, looks=(3, 6), paired=False)
    judge = AccuracyJudge(Path("good"), [config], {"lstm": policy}, 10, 1, tmp_path)
    judgment = judge(history.Commit("c" * 40, "x"), Path(root))
    assert (judgment.verdict, judgment.label) == (verdict, label), judgment
    if verdict in (BAD, INCONCLUSIVE):
        assert judgment.measure.startswith("lstm drop +0.0") and " seeds against 10" in judgment.measure


def test_accuracy_needs_good_seeds_that_make_a_baseline(monkeypatch, tmp_path):
    from rnn_models.bisect import accuracy_judge

    monkeypatch.setattr(accuracy_judge, "train_seeds", stand_in_runs({}))
    with pytest.raises(search.GoodDoesNotRun, match="cannot serve as a baseline: train exited 2"):
        AccuracyJudge(Path("broken"), [make_result("lstm").config], {"lstm": Policy()}, 10, 1, tmp_path)


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


def test_speed_bisect_names_the_commit_that_made_the_train_step_slower(
        synthetic_history, capsys, monkeypatch, tmp_path):
    repo, shas = synthetic_history
    code, lines, err = bisect_in(repo, shas, capsys, monkeypatch, tmp_path,
                                 "--cells", "basic_lstm", "--baselines", CALIBRATED)
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
        judge = SpeedJudge(good, ["basic_lstm"], "train", "CPU:0", real_batch(n=32), thresholds, 1, tmp_path)
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


# --- bisect-check: the experiment's tuning ---------------------------------------------


def test_the_slowdown_is_tuned_along_a_line_through_the_tries():
    from rnn_models.regression.speed import Decision
    from rnn_models.selfcheck import bisect_check as experiment

    def measure(width):  # a fixed 2% and 1% more per 100 of width
        ratio = 1.02 + width / 10000
        return Decision("slower", ratio, ratio - 0.01, ratio + 0.01, 32)

    width, decision, tries = experiment.tune(measure, 0.15, 0.002, 4, log=lambda line: None)
    # 1000 gives 1.12; scaled in proportion, 1250 gives 1.145; the line through both hits 1300
    assert [w for w, _ in tries] == [1000, 1250, 1300] and experiment.FIRST_WIDTH == 1000
    assert width == 1300 and decision.ratio == pytest.approx(1.15)
    never_there = experiment.tune(lambda w: measure(0), 0.15, 0.002, 3, log=lambda line: None)
    assert len(never_there[2]) == 3 and never_there[1].ratio == pytest.approx(1.02)  # the nearest kept


def test_bisect_check_refuses_a_position_outside_the_history(capsys, tmp_path):
    code, out, err = run_cli(capsys, ["bisect-check", "--commits", "8", "--position", "9",
                                      "--out", tmp_path / "check.json"])
    assert code == 2 and err == ["rnn_models bisect-check: error: --position 9 is not a commit of the "
                                 "history (1 to 8)"]


@pytest.mark.parametrize("verdict, ratio, low, high, expected, label", [
    ("slower", 1.14, 1.10, 1.18, BAD, "slower"),
    ("unchanged", 1.00, 0.97, 1.03, GOOD, "unchanged"),
    ("faster", 0.90, 0.86, 0.94, GOOD, "faster"),
    ("inconclusive", 0.94, 0.91, 0.96, GOOD, "not slower"),  # below 1 but not by min_effect
    ("inconclusive", 1.05, 1.01, 1.09, INCONCLUSIVE, "inconclusive"),  # a slowdown of 7.1% not excluded
])
def test_a_speed_judgment_asks_only_whether_the_commit_is_slower(verdict, ratio, low, high, expected, label):
    from rnn_models.bisect.speed_judge import one_sided
    from rnn_models.regression.speed import Decision

    assert one_sided(Decision(verdict, ratio, low, high, 32), min_effect=0.071) == (expected, label)


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
