"""``bisect``: the search over a judge (every path, no git or TensorFlow), its report, the
judges' rules on stand-in runs, and bisect-check's tuning and inputs. The range in small git
repositories and the real command on a synthetic history: tests/integration/test_bisect.py."""

from pathlib import Path

import pytest

from rnn_models.bisect import history, report, search, speed_judge
from rnn_models.bisect.accuracy_judge import AccuracyJudge
from rnn_models.bisect.runs import RunFailed, train_argv
from rnn_models.bisect.search import BAD, GOOD, INCONCLUSIVE, SKIP, Judgment
from rnn_models.commands import build_parser, main
from rnn_models.regression.accuracy import Policy
from rnn_models.speed.ab import ABUnavailable
from rnn_models.suite.matrix import matrix_config
from tests.unit.test_baseline import make_result


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


# --- the command line (its runs on git repositories: tests/integration) ---------------


def run_cli(capsys, argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


# --- the judges' rules, on stand-in runs ------------------------------------------------


def test_the_train_command_is_the_config_the_cli_parses():
    config = matrix_config("ln_basic_lstm", epochs=2).replace(steps_per_epoch=3)
    args = build_parser().parse_args(train_argv(config, [0, 4], "out"))
    assert (args.cell, args.epochs, args.clip, args.steps_per_epoch, args.seeds) == \
           ("ln_basic_lstm", 2, config.clip_norm, 3, [0, 4])
    assert dict(args.cell_arg) == config.cell_kwargs and args.quiet


def test_a_speed_failure_skips_the_commit_unless_good_or_an_interrupt_caused_it():
    skip = speed_judge.unavailable(ABUnavailable("current worker: build: ImportError: x", "current"))
    assert skip == Judgment(SKIP, "does not run", "current worker: build: ImportError: x")
    with pytest.raises(search.GoodDoesNotRun, match="the good commit does not run: baseline worker"):
        speed_judge.unavailable(ABUnavailable("baseline worker: hello: exited", "baseline"))
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise ABUnavailable("current worker: time: the worker exited", "current")
    except ABUnavailable as err:
        with pytest.raises(KeyboardInterrupt):
            speed_judge.unavailable(err)


GOOD_FINALS = [0.900, 0.905, 0.895] * 3 + [0.900]  # a spread of about 0.4 points


def stand_in_runs(level, bounds=None):
    """``train_seeds`` for roots named by their accuracy: ``good`` the reference level,
    ``same`` good's runs bit for bit, a number that level with good's spread. Each call's
    time limit is appended to ``bounds`` as ``(root name, seeds, timeout_s)``."""
    def train(root, config, seeds, out, data=None, timeout_s=None):
        name = Path(root).name
        if bounds is not None:
            bounds.append((name, len(list(seeds)), timeout_s))
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


def test_every_training_process_of_the_bisect_has_a_time_limit(monkeypatch, tmp_path):
    # Good's seeds by the stored expectation, a commit's by good's own runs (3.0 s each in
    # the stand-ins), both by the training pool's rule: a stuck commit is skipped, not waited on.
    from rnn_models.bisect import accuracy_judge, numerics_judge
    from rnn_models.executors.executor import run_limit_s

    bounds = []
    monkeypatch.setattr(accuracy_judge, "train_seeds", stand_in_runs({"drop": 0.05}, bounds))
    config = make_result("lstm").config
    judge = AccuracyJudge(Path("good"), [config], {"lstm": Policy(target_drop=0.01, looks=(3, 6), paired=False)},
                          10, 1, tmp_path, expected_s=lambda c: 30.0 if c == config.to_dict() else None)
    judge(history.Commit("c" * 40, "x"), Path("drop"))
    assert bounds[0] == ("good", 10, run_limit_s(30.0, 10))
    assert bounds[1:] == [("drop", 1, run_limit_s(3.0, 1)), ("drop", 2, run_limit_s(3.0, 2))]  # seed 0, then the look's others

    bounds.clear()
    monkeypatch.setattr(numerics_judge, "train_seeds", stand_in_runs({"same": 0.0}, bounds))
    judge = numerics_judge.NumericsJudge(Path("good"), [config], tmp_path)  # nothing expected: good unbounded
    judge(history.Commit("c" * 40, "x"), Path("same"))
    assert bounds == [("good", 1, None), ("same", 1, run_limit_s(3.0, 1))]


def test_accuracy_needs_good_seeds_that_make_a_baseline(monkeypatch, tmp_path):
    from rnn_models.bisect import accuracy_judge

    monkeypatch.setattr(accuracy_judge, "train_seeds", stand_in_runs({}))
    with pytest.raises(search.GoodDoesNotRun, match="cannot serve as a baseline: train exited 2"):
        AccuracyJudge(Path("broken"), [make_result("lstm").config], {"lstm": Policy()}, 10, 1, tmp_path)


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


