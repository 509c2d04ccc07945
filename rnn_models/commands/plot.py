"""``plot``: the baselines' plots redrawn from the stored results (``rnn_models.plots``)."""

from rnn_models.suite.options import add_options

NAME = "plot"
HELP = "redraw the plots from stored results"
PLOTS = "plots"  # the default output folder, in --baselines


def add_arguments(parser):
    add_options(parser.add_argument, "--baselines")
    parser.add_argument("--out", default=None, help=f"output folder (default: BASELINES/{PLOTS})")
    parser.add_argument("--results", nargs="*", default=[], help="RunResult JSON files to draw too")


def run(*, baselines: str, out: str | None, results: list[str]) -> int:
    from rnn_models.plots import plot_all
    from rnn_models.records.atomic import recover
    from rnn_models.records.paths import check_input_dir, check_output_dir
    from rnn_models.records.results import RunResult

    baselines = check_input_dir(baselines, "--baselines")
    out = check_output_dir(out or baselines / PLOTS, "--out")
    extra = {r.cell: r for r in map(RunResult.load, results)}
    recover(baselines)
    written = plot_all(baselines, out, results=extra or None)
    if not written:
        raise ValueError(f"--baselines {baselines}: no baseline, speed run or result to draw")
    for path in written:
        print(path)
    return 0
