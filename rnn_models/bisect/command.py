"""``python -m rnn_models bisect``: the first commit of a range that made a cell slower, changed
its numerics or lowered its accuracy.

Every option, ref, cell and the calibration are checked before any work. The search runs in
git worktrees of its own under the temporary directory, removed when it ends, also on Ctrl-C
and SIGTERM (``rnn_models.machine.interrupts``). Exit codes: 0 the first
bad commit found; 1 no regression in the range, or only suspects remain; 2 bad input (also a
good or bad commit that does not run); 130 Ctrl-C, 143 SIGTERM.
"""

import tempfile
from pathlib import Path

from rnn_models.bisect import history, report, search
from rnn_models.machine import interrupts
from rnn_models.speed import worktree

EXIT_FOUND, EXIT_NOT_FOUND = 0, 1
METRICS = ("speed", "numerics", "accuracy")
DEFAULT_ROUNDS = 3  # an inconclusive step may take the calibrated looks' units twice more
NUMERICS_EPOCHS = 1  # one short run: the first differing bit shows in the first window
DEFAULT_GOOD_SEEDS = 10  # the stored distributions' size, which the gate's rates were measured with
# The options that only some metrics read, and which those are.
METRIC_OPTIONS = {"phase": ("speed",), "device": ("speed",), "worker_pairs": ("speed",),
                  "rounds": ("speed", "accuracy"),
                  "steps": ("numerics", "accuracy"), "epochs": ("numerics", "accuracy"),
                  "good_seeds": ("accuracy",)}


def check_options(args):
    """Each metric-specific option given with another metric is refused, not ignored."""
    for name, metrics in METRIC_OPTIONS.items():
        if getattr(args, name) is not None and args.metric not in metrics:
            raise ValueError(f"--{name.replace('_', '-')} applies to --metric {' or '.join(metrics)}, "
                             f"not {args.metric}")


def _speed_judge(args, commits):
    """The speed judge's factory, its inputs (calibration, batch) read before any work."""
    import dataclasses

    from rnn_models.bisect.speed_judge import DEFAULT_PAIRS, SpeedJudge
    from rnn_models.records.calibrations import load_calibration
    from rnn_models.speed.ab import real_batch

    thresholds, _ = load_calibration(args.baselines)
    thresholds = dataclasses.replace(thresholds, looks=search.budget_looks(thresholds.looks, args.rounds))
    batch = real_batch(args.data)
    family = len(args.cells) * search.expected_steps(commits)
    pairs = args.worker_pairs or DEFAULT_PAIRS
    return lambda good_root, work: SpeedJudge(good_root, args.cells, args.phase, args.device, batch,
                                              thresholds, family, work / "logs", pairs)


def _training_configs(args):
    from rnn_models.suite.matrix import matrix_config

    epochs = args.epochs or (NUMERICS_EPOCHS if args.metric == "numerics" else None)
    configs = [matrix_config(cell, epochs) if epochs else matrix_config(cell) for cell in args.cells]
    return [c.replace(steps_per_epoch=args.steps) for c in configs]


def _numerics_judge(args, _commits):
    from rnn_models.bisect.numerics_judge import NumericsJudge

    configs = _training_configs(args)
    return lambda good_root, work: NumericsJudge(good_root, configs, work / "runs", args.data)


def _accuracy_judge(args, _commits):
    from rnn_models.bisect.accuracy_judge import AccuracyJudge
    from rnn_models.regression.accuracy import policy_for

    configs = _training_configs(args)
    policies = {c.cell: policy_for(c.cell) for c in configs}
    return lambda good_root, work: AccuracyJudge(good_root, configs, policies, args.good_seeds,
                                                 args.rounds, work / "runs", args.data)


FACTORIES = {"speed": _speed_judge, "numerics": _numerics_judge, "accuracy": _accuracy_judge}


def bisect_cli(args):
    check_options(args)
    args.phase, args.device = args.phase or "train", args.device or "CPU:0"
    args.rounds = args.rounds or DEFAULT_ROUNDS
    args.good_seeds = args.good_seeds or DEFAULT_GOOD_SEEDS
    repo = history.repository(args.repo)
    commits = history.first_parent_range(repo, args.good, args.bad)
    dirty = history.uncommitted_code(repo, commits[-1].sha)
    if dirty:
        raise ValueError(dirty)
    factory = FACTORIES[args.metric](args, commits)
    what = f"{args.phase} step" if args.metric == "speed" else "pinned seed-0 runs" \
        if args.metric == "numerics" else "seeds against good's"
    print(f"bisect: {len(commits) - 1} commits after --good {commits[0].short} up to --bad "
          f"{commits[-1].short}, by {args.metric} of {', '.join(args.cells)} ({what})", flush=True)
    outcome = _search(repo, commits, factory)
    if outcome.status == search.BAD_DOES_NOT_RUN:
        bad = outcome.steps[0]
        raise ValueError(f"--bad {bad.commit.short} does not run: {bad.judgment.measure}")
    rounds = f" after {args.rounds} round{'s' if args.rounds > 1 else ''}" if args.metric != "numerics" else ""
    interrupts.pause_point("table", "rnn_models bisect")
    print(report.table(outcome))
    print("\n".join(report.conclusion(outcome, rounds)), flush=True)
    return EXIT_FOUND if outcome.status == search.FOUND else EXIT_NOT_FOUND


def _search(repo, commits, factory):
    """The search, each commit judged in a worktree of its own; every worktree and temporary
    file is removed when it ends, however it ends."""
    count = iter(range(1, len(commits) + 1))
    with tempfile.TemporaryDirectory(prefix="rnnbench-bisect-") as work:
        try:
            with worktree.checkout(repo, commits[0].sha) as good_root:
                judge = factory(good_root, Path(work))

                def judge_commit(commit):
                    with worktree.checkout(repo, commit.sha) as root:
                        return judge(commit, root)

                return search.bisect(commits, judge_commit,
                                     on_step=lambda step: print(report.step_line(next(count), step),
                                                                flush=True))
        except search.GoodDoesNotRun as err:
            raise RuntimeError(f"--good {commits[0].short}: {err}") from None
        finally:
            worktree.git(repo, "worktree", "prune", check=False)
