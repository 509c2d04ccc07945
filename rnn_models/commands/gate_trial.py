"""``gate-trial``: the whole speed gate run A/A (or with an injected slowdown) on this machine as
CI runs it, with the thresholds it gets here (``rnn_models.selfcheck.gate_trial``)."""

from rnn_models.commands.arguments import fraction, positive_int
from rnn_models.config import PHASES
from rnn_models.registry import REGISTRY
from rnn_models.suite.options import add_options

NAME = "gate-trial"
HELP = ("run the whole speed gate A/A (or with an injected slowdown) on this "
        "machine as CI would, with the thresholds it gets here")
RESULT_FILE = "speed_gate_trials.json"  # in --baselines


def add_arguments(parser):
    parser.add_argument("--runs", type=positive_int, default=20)
    parser.add_argument("--load", action="store_true", help="a second job beside the gate")
    parser.add_argument("--slowdown", type=fraction, default=0.0,
                        help="inject this slowdown into one step instead of an A/A")
    parser.add_argument("--inject-cell", choices=list(REGISTRY), default="basic_lstm", metavar="NAME")
    parser.add_argument("--inject-phase", choices=PHASES, default="train")
    add_options(parser.add_argument, "--cells", "--baselines", "--data",
                cells={"help": "the gated cells (default: every registry entry)"})
    parser.add_argument("--out", default=None,
                        help=f"the result file (default: BASELINES/{RESULT_FILE})")


def run(*, runs: int, load: bool, slowdown: float, inject_cell: str, inject_phase: str, cells: list[str] | None,
        baselines: str, data: str | None, out: str | None) -> int:
    from pathlib import Path

    from rnn_models import git
    from rnn_models.commands.arguments import command_line
    from rnn_models.records.paths import check_output_file
    from rnn_models.selfcheck.gate_trial import store, trial
    from rnn_models.speed.ab import real_batch

    out = check_output_file(out or Path(baselines) / RESULT_FILE, "--out")
    inject = (inject_cell, inject_phase)

    def store_so_far(kind, entry):  # after each run: an interrupted trial keeps its finished runs
        store(out, kind, entry, load=load, slowdown=slowdown, inject=inject, command=command_line())

    kind, entry = trial(real_batch(data), cells=cells or list(REGISTRY), runs=runs, load=load, slowdown=slowdown,
                        inject=inject, root=git.SOURCE_ROOT, baselines=baselines, after_run=store_so_far)
    s = entry["summary"]
    print(f"{kind}: {s['runs_flagged_slower']} of {s['runs']} runs flagged slower "
          f"({s['steps_flagged_before_confirmation']} step(s) flagged before confirmation, "
          f"{s['retimes']} fresh-worker retime(s); "
          f"{s['steps_inconclusive']} of {s['steps']} step verdicts inconclusive); written to {out}")
    return 0
