"""A suite run's page: ``render_run(data) -> str`` of the run document
(``rnn_models.history.rundata``), and ``write_run_page(path, data)``, which writes the page
and its data (``<name>.json`` beside it) atomically. What failed comes first; then every
speed verdict with its ratio, interval and thresholds, every accuracy verdict with each
seed, this run's learning curves over the baseline's, and the matrix's budget."""

import math
from html import escape
from pathlib import Path

from rnn_models.history import svg
from rnn_models.history.rundata import failures
from rnn_models.history.style import CSS, FAVICON, PAGE_SCRIPT, finite, json_script
from rnn_models.records.atomic import json_text, write_bytes_atomic


def _q(value):
    return escape(str(value), quote=True)


def _num(value, fmt="{:.3f}"):
    return fmt.format(value) if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def _table(header, rows, cell_of_row=None):
    head = "".join(f"<th>{_q(h)}</th>" for h in header)
    body = []
    for k, row in enumerate(rows):
        attr = f' data-cell="{_q(cell_of_row[k])}"' if cell_of_row else ""
        body.append(f"<tr{attr}>" + "".join(c if str(c).startswith("<td") else f"<td>{_q(c)}</td>" for c in row)
                    + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _verdict(text, fails):
    return f'<td class="{"fail" if fails else "pass"}">{_q(text.upper() if fails else text)}</td>'


def speed_section(data):
    outcomes = data["speed"]
    if not outcomes:
        return "<section><h2>Speed</h2><p>No timed step was gated in this run.</p></section>"
    rows = [(o["cell"], o["phase"], o["device"], _verdict(o["verdict"], o["fails"]),
             (f"{_num(o['ab']['ratio'])} [{_num(o['ab']['low'])}, {_num(o['ab']['high'])}]" if o.get("ab") else "–"),
             (o["ab"]["units"] if o.get("ab") else "–"), o["judged_by"], o["detail"]) for o in outcomes]
    table = _table(("cell", "phase", "device", "verdict", "current/baseline [interval]", "units", "judged by",
                    "detail"), rows, [o["cell"] for o in outcomes])
    info = data.get("thresholds") or {}
    ab = info.get("ab")
    refs = [(1.0, "no change")]
    if ab:
        refs.append((1 + ab["min_effect"], f"the smallest slowdown that fails: +{ab['min_effect']:.0%}"))
        limits = (f"A/B thresholds ({_q(info.get('kind') or 'the widest stored: this kind is not calibrated')}): "
                  f"fails at a slowdown of at least {ab['min_effect']:.1%} whose interval is above 1; between-process "
                  f"sd {ab['process_sigma']:.4f}; false-alarm rate {ab['family_alpha']:.3g} over all "
                  f"{info.get('family_size')} steps and looks; looks at {', '.join(map(str, ab['looks']))} units.")
    else:
        limits = "No A/B ran."
    rules = ", ".join(info.get("fallback_rules") or []) or "none"
    against = f" Against {_q(info['ref'])} ({_q((info.get('commit') or '')[:12])})." if info.get("ref") else ""
    chart_rows = [(f"{o['cell']} {o['phase']}", o["ab"]["ratio"], o["ab"]["low"], o["ab"]["high"],
                   "#c0392b" if o["fails"] else "#1f6fb4") for o in outcomes if o.get("ab")]
    chart = svg.interval_chart("speed: current/baseline step time, with its interval", chart_rows, refs,
                               lambda v: f"{v:.2f}") if chart_rows else ""
    return (f'<section id="speed"><h2>Speed verdicts</h2>{table}<p>{limits}{against} Fallback rules against the '
            f"stored run: {_q(rules)}.</p>{chart}</section>")


def accuracy_section(data):
    if not data["accuracy"]:
        return "<section><h2>Accuracy</h2><p>No accuracy verdict in this run.</p></section>"
    parts = ['<section id="accuracy"><h2>Accuracy verdicts</h2>']
    for a in data["accuracy"]:
        policy = a.get("policy") or {}
        looks = a.get("looks") or []
        head = (f'<h3>{_q(a["cell"])}: <span class="{"fail" if a.get("fails") else "pass"}">{_q(a["verdict"])}'
                f"</span></h3><p>{_q(a['detail'])}</p>")
        if looks:
            rows = [(str(k + 1), ",".join(map(str, lk["seeds"])), _num(lk["baseline_mean"], "{:.4f}"),
                     _num(lk["candidate_mean"], "{:.4f}"),
                     f"{_num(lk['drop'], '{:+.4f}')} [{_num(lk['low'], '{:+.4f}')}, {_num(lk['high'], '{:+.4f}')}]",
                     _verdict(lk["verdict"], lk["verdict"] == "fail")) for k, lk in enumerate(looks)]
            head += _table(("look", "seeds", "baseline mean", "this run's mean", "drop [bounds]", "decision"), rows)
            head += (f"<p>Statistic: {_q(policy.get('description', ''))}; fails on a significant drop of at least "
                     f"{_num(policy.get('min_drop'))}, passes once the drop is surely below "
                     f"{_num(policy.get('target_drop'))}.</p>")
            head += svg.interval_chart(f"{a['cell']}: drop of the mean at each look", [
                (f"look {k + 1} ({len(lk['seeds'])} seeds)", lk["drop"], lk["low"], lk["high"],
                 "#c0392b" if lk["verdict"] == "fail" else "#1f6fb4") for k, lk in enumerate(looks)],
                [(0.0, "no drop"), (policy.get("min_drop", 0.005), "the smallest drop that fails"),
                 (policy.get("target_drop", 0.01), "the drop that must be caught")], lambda v: f"{v:+.3f}")
        stored = ", ".join(f"{s}: {v:.4f}" for s, v in a.get("stored_seeds") or [])
        now = ", ".join(f"{s}: {_num(v, '{:.4f}')}" for s, v in a.get("seeds") or [])
        head += f"<p>This run's seeds: {_q(now or 'none')}.<br>Stored seeds: {_q(stored or 'none')}.</p>"
        parts.append(f'<div data-cell="{_q(a["cell"])}">{head}</div>')
    return "".join(parts) + "</section>"


def curves_section(data):
    if not data["curves"]:
        return ""
    parts = ['<section id="curves"><h2>Learning curves: this run against the baseline</h2>']
    for cell, c in data["curves"].items():
        base = c.get("baseline") or {"train": [], "test": []}
        charts = [svg.curves_chart(f"{cell}: train loss", ("this run, seed 0", c["run"]["train"]),
                                   [("baseline", "baseline seed 0", base["train"])], "baseline", "train step",
                                   "loss", lambda v: f"{v:.2f}", "the stored baseline"),
                  svg.curves_chart(f"{cell}: test accuracy", ("this run, seed 0", c["run"]["test"]),
                                   [("baseline", "baseline seed 0", base["test"])], "baseline", "epoch",
                                   "accuracy", lambda v: f"{v:.3f}", "the stored baseline")]
        parts.append(f'<div class="row" data-cell="{_q(cell)}">{"".join(charts)}</div>')
    return "".join(parts) + "</section>"


def budget_section(data):
    b = data.get("budget")
    if not b:
        return "<section><h2>Budget</h2><p>No training run in this session.</p></section>"
    return f'<section id="budget"><h2>Budget</h2><p>{_q(data["budget_text"])}</p></section>'


def render_run(data):
    lines = failures(data)
    if lines:
        items = "".join(f"<li>{_q(x)}</li>" for x in lines)
        top = f'<div class="failed" id="verdict">FAILED<ul>{items}</ul></div>'
    else:
        top = '<div class="passed" id="verdict">PASSED: every gate in this run passed.</div>'
    cells = list(dict.fromkeys([o["cell"] for o in data["speed"]] + [a["cell"] for a in data["accuracy"]]
                               + list(data["curves"])))
    options = "".join(f'<option value="{_q(c)}">{_q(c)}</option>' for c in cells)
    notes = "".join(f"<li>{_q(n)}</li>" for n in data["notes"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rnnbench run: {"FAILED" if lines else "passed"}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{FAVICON}<style>{CSS}</style></head>
<body><h1>rnnbench run ({_q(data["generated"])})</h1>{top}
<nav id="filter"><label>cell <select id="cell-filter"><option value="">all cells</option>{options}</select></label>
<a id="permalink" href="#">permalink</a></nav>
{speed_section(data)}{accuracy_section(data)}{curves_section(data)}{budget_section(data)}
{"<section><h2>Notes</h2><ul>" + notes + "</ul></section>" if notes else ""}
{json_script("run-data", data)}
<script>{PAGE_SCRIPT}</script></body></html>
"""


def write_run_page(path, data):
    """Writes the page and ``<path without suffix>.json``, each atomically; returns the page."""
    path = Path(path)
    html = render_run(data).encode()
    write_bytes_atomic(path.with_suffix(".json"), json_text(finite(data)).encode())
    write_bytes_atomic(path, html)
    return path
