"""``history``: one offline HTML page of every cell's speed and accuracy over the commits that
changed the baselines (``rnn_models.history``)."""

from pathlib import Path

from rnn_models.suite.options import add_options

NAME = "history"
HELP = "one offline HTML page of every cell's speed and accuracy over the commits that changed the baselines"


def add_arguments(parser):
    add_options(parser.add_argument, "--baselines")
    parser.add_argument("--out", required=True, help="folder for index.html and history.json")
    parser.add_argument("--runs", nargs="*", default=[], metavar="FILE",
                        help="saved runs to add after the commits: pytest-benchmark JSON, RunResult "
                             "JSON, or a run page's data (--report's .json)")
    parser.add_argument("--remote", default=None, metavar="URL",
                        help="the repository URL for commit links (default: the git remote's)")


def run(*, baselines: str, out: str, runs: list[str], remote: str | None) -> int:
    from rnn_models.history.write import write_history
    from rnn_models.records.paths import check_output_dir

    out = check_output_dir(out, "--out")
    for path in runs:
        if not Path(path).is_file():
            raise ValueError(f"--runs {path}: no such file")
    page, doc = write_history(baselines, out, runs, remote)
    points = len(doc["speed"]) + len(doc["accuracy"])
    print(f"{page}: {len(doc['commits'])} commits, {points} points, {len(doc['skipped'])} files skipped"
          + (f"; {doc['notice']}" if doc["notice"] else ""))
    return 0
