"""The history page written: ``DIR/index.html`` and its data ``DIR/history.json``
(``python -m rnn_models history --out DIR``)."""

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
