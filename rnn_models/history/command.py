"""``python -m rnn_models history --out DIR``: writes ``DIR/index.html`` and ``DIR/history.json``."""

from pathlib import Path

from rnn_models.history.collect import collect
from rnn_models.history.page import render
from rnn_models.history.style import finite
from rnn_models.records.atomic import json_text, write_bytes_atomic

PAGE, DATA = "index.html", "history.json"


def write_history(baselines, out, runs=(), remote=None):
    """Collects the history and writes the page and its data, each atomically (a reader sees
    the old file or the new one, never a part). Returns ``(page path, document)``."""
    doc = collect(baselines, runs, remote)
    html = render(doc).encode()
    out = Path(out)
    write_bytes_atomic(out / DATA, json_text(finite(doc)).encode())
    write_bytes_atomic(out / PAGE, html)
    return out / PAGE, doc


def history_cli(args):
    from rnn_models.records.paths import check_output_dir

    out = check_output_dir(args.out, "--out")
    for run in args.runs:
        if not Path(run).is_file():
            raise ValueError(f"--runs {run}: no such file")
    page, doc = write_history(args.baselines, out, args.runs, args.remote)
    points = len(doc["speed"]) + len(doc["accuracy"])
    print(f"{page}: {len(doc['commits'])} commits, {points} points, {len(doc['skipped'])} files skipped"
          + (f"; {doc['notice']}" if doc["notice"] else ""))
