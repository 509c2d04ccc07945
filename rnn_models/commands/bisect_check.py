"""``bisect-check``: how often and how fast the speed bisect names a known, real slowdown
(``rnn_models.selfcheck.bisect_check``)."""

from rnn_models.bisect.settings import DEFAULT_PAIRS
from rnn_models.commands.arguments import fraction, positive_int
from rnn_models.suite.options import add_options

NAME = "bisect-check"
HELP = "measure how often and how fast the speed bisect names a real slowdown"
RESULT_FILES = {False: "bisect_check.json", True: "bisect_check_aa.json"}  # by --aa, in --baselines


def add_arguments(parser):
    parser.add_argument("--repeats", type=positive_int, default=20, help="bisects of the same history")
    parser.add_argument("--commits", type=positive_int, default=8, help="commits after the good one")
    parser.add_argument("--position", type=positive_int, default=5,
                        help="the slow commit's place (1 to --commits)")
    parser.add_argument("--slowdown", type=fraction, default=0.15, help="the real slowdown to tune, as a fraction")
    parser.add_argument("--tolerance", type=fraction, default=0.02, help="how near the tuned ratio must come")
    parser.add_argument("--tune-tries", type=positive_int, default=4, help="A/Bs to tune the slowdown with, at most")
    parser.add_argument("--worker-pairs", type=positive_int, default=None,
                        help=f"the bisect's --worker-pairs, also the tuning A/B's (default: the bisect's, {DEFAULT_PAIRS})")
    add_options(parser.add_argument, "--baselines", "--data")
    parser.add_argument("--aa", action="store_true",
                        help="no slowdown in the history: how often a bisect of it names a commit (false alarms)")
    parser.add_argument("--out", default=None,
                        help=f"the result file (default: baselines/{RESULT_FILES[False]}, "
                             f"with --aa {RESULT_FILES[True]})")


def run(*, repeats: int, commits: int, position: int, slowdown: float, tolerance: float, tune_tries: int,
        worker_pairs: int | None, baselines: str, data: str | None, aa: bool, out: str | None) -> int:
    from pathlib import Path

    from rnn_models.commands.arguments import command_line
    from rnn_models.records.paths import check_output_file
    from rnn_models.selfcheck.bisect_check import experiment

    out = check_output_file(out or Path(baselines) / RESULT_FILES[aa], "--out")
    if not 1 <= position <= commits:
        raise ValueError(f"--position {position} is not a commit of the history (1 to {commits})")
    result = experiment(out, repeats=repeats, commits=commits, position=position, slowdown=slowdown,
                        tolerance=tolerance, tune_tries=tune_tries, baselines=baselines,
                        pairs=worker_pairs or DEFAULT_PAIRS, aa=aa, data=data, command=command_line())
    s = result["summary"]
    right = "named no commit" if aa else "named the slow commit"
    print(f"{right} in {s['named_right']} of {s['runs']} runs ({s['named_wrong']} wrong); "
          f"exit codes {s['exit_codes']}; wall time median {s['wall_s']['median']:.0f} s "
          f"({s['wall_s']['min']:.0f}-{s['wall_s']['max']:.0f} s); written to {out}")
    return 0
