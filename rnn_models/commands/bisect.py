"""``bisect``: the first commit of a range that made a cell slower, changed its numerics or
lowered its accuracy (``rnn_models.bisect``).

Every option, ref, cell and the calibration are checked before any work. Exit codes: 0 the
first bad commit found; 1 no regression in the range, or only suspects remain; 2 bad input
(also a good or bad commit that does not run); 130 Ctrl-C, 143 SIGTERM.
"""

from rnn_models.bisect.settings import (DEFAULT_DEVICE, DEFAULT_GOOD_SEEDS, DEFAULT_PAIRS, DEFAULT_PHASE,
                                        DEFAULT_ROUNDS, METRICS, NUMERICS_EPOCHS)
from rnn_models.commands.arguments import int_at_least, positive_int
from rnn_models.config import PHASES
from rnn_models.records.baselines import MIN_SEEDS
from rnn_models.suite.options import add_options

NAME = "bisect"
HELP = "find the commit that made a cell slower, changed its numerics or lowered its accuracy"
EXIT_FOUND, EXIT_NOT_FOUND = 0, 1


def add_arguments(parser):
    parser.add_argument("--good", required=True, metavar="REF", help="a commit without the regression")
    parser.add_argument("--bad", required=True, metavar="REF", help="a later commit with it")
    add_options(parser.add_argument, "--cells", cells={"required": True, "help": "the cells judged"})
    parser.add_argument("--metric", choices=METRICS, default="speed",
                        help="speed: the A/B gate; numerics: the pinned seed-0 run's bits; "
                             "accuracy: the accuracy gate's rule (default: %(default)s)")
    parser.add_argument("--phase", choices=PHASES, default=None,
                        help=f"speed: the timed step (default: {DEFAULT_PHASE})")
    parser.add_argument("--device", default=None,
                        help=f"speed: the device of the timed step (default: {DEFAULT_DEVICE})")
    parser.add_argument("--rounds", type=positive_int, default=None,
                        help="speed, accuracy: rounds of samples an inconclusive step may take "
                             f"before its commit counts as inconclusive (default: {DEFAULT_ROUNDS})")
    parser.add_argument("--worker-pairs", type=positive_int, default=None,
                        help="speed: pairs of fresh worker processes that take each A/B's units in "
                             f"turn, so one odd process moves only a share of them (default: {DEFAULT_PAIRS})")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="numerics, accuracy: train steps per epoch (default: every batch)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"numerics, accuracy: epochs per run (default: {NUMERICS_EPOCHS} for numerics, "
                             "the suite's for accuracy)")
    parser.add_argument("--good-seeds", type=int_at_least(MIN_SEEDS, f"an integer >= {MIN_SEEDS}"), default=None,
                        help=f"accuracy: the good commit's seeds, its distribution (default: {DEFAULT_GOOD_SEEDS})")
    parser.add_argument("--repo", default=".", help="the git checkout to bisect (default: this folder)")
    add_options(parser.add_argument, "--baselines", "--data")


def run(*, good: str, bad: str, cells: list[str], metric: str, phase: str | None, device: str | None,
        rounds: int | None, worker_pairs: int | None, steps: int | None, epochs: int | None,
        good_seeds: int | None, repo: str, baselines: str, data: str | None) -> int:
    from rnn_models.bisect import bisection, report, search
    from rnn_models.bisect.settings import check_metric_settings
    from rnn_models.machine import interrupts
    from rnn_models.suite.stored_inputs import expected_run_seconds

    check_metric_settings(metric, dict(phase=phase, device=device, worker_pairs=worker_pairs, rounds=rounds,
                                       steps=steps, epochs=epochs, good_seeds=good_seeds))
    phase, device = phase or DEFAULT_PHASE, device or DEFAULT_DEVICE
    rounds, good_seeds = rounds or DEFAULT_ROUNDS, good_seeds or DEFAULT_GOOD_SEEDS
    root, commits = bisection.commit_range(repo, good, bad)
    expected = expected_run_seconds(baselines)  # bounds good's runs; theirs bound the others'
    if metric == "speed":
        factory = bisection.speed_judge(commits, cells=cells, baselines=baselines, data=data, phase=phase,
                                        device=device, rounds=rounds, pairs=worker_pairs or DEFAULT_PAIRS)
        what = f"{phase} step"
    elif metric == "numerics":
        factory = bisection.numerics_judge(bisection.training_configs(cells, metric, steps, epochs), data, expected)
        what = "pinned seed-0 runs"
    else:
        factory = bisection.accuracy_judge(bisection.training_configs(cells, metric, steps, epochs), data,
                                           good_seeds, rounds, expected)
        what = "seeds against good's"
    print(f"bisect: {len(commits) - 1} commits after --good {commits[0].short} up to --bad "
          f"{commits[-1].short}, by {metric} of {', '.join(cells)} ({what})", flush=True)
    count = iter(range(1, len(commits) + 1))
    outcome = bisection.run(root, commits, factory,
                            on_step=lambda step: print(report.step_line(next(count), step), flush=True))
    rounds_text = f" after {rounds} round{'s' if rounds > 1 else ''}" if metric != "numerics" else ""
    interrupts.pause_point("table", "rnn_models bisect")
    print(report.table(outcome))
    print("\n".join(report.conclusion(outcome, rounds_text)), flush=True)
    return EXIT_FOUND if outcome.status == search.FOUND else EXIT_NOT_FOUND
