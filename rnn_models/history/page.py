"""The history page: ``render(doc) -> str``, one self-contained HTML file of the history
document (``rnn_models.history.collect``). Charts are inline SVG; the document rides along
as ``<script type="application/json">``; the small script (``PAGE_SCRIPT``) only filters by
cell and picks the earlier learning curve, keeping that state in the URL hash. The table of
changes and every chart read without JavaScript."""

from html import escape

from rnn_models.history import svg
from rnn_models.history.style import CSS, FAVICON, PAGE_SCRIPT, json_script

PHASES = ("train", "inference")


def _q(value):
    return escape(str(value), quote=True)


def versions_text(versions):
    tf, keras = versions.get("tensorflow", "?"), versions.get("keras", "?")
    return "versions not recorded" if tf == "?" and keras == "?" else f"TF {tf} / Keras {keras}"


def _columns(doc, points):
    """The commits that have points, in history order, as chart columns."""
    present = {p["commit"] for p in points}
    return [c for c in doc["commits"] if c["id"] in present]


def _place(doc, points, value_of, tip_of):
    """Chart points (``svg.point_chart``) for ``points`` of one series, with the version marks:
    a mark where a point's recorded versions differ from the previous recorded ones."""
    columns = _columns(doc, points)
    index = {c["id"]: k for k, c in enumerate(columns)}
    by_id = {c["id"]: c for c in columns}
    placed, previous = [], None
    for p in sorted(points, key=lambda p: index[p["commit"]]):
        text = versions_text(p["versions"])
        mark = text if previous is not None and text != previous and "not recorded" not in text else None
        if "not recorded" not in text:
            previous = text
        commit = by_id[p["commit"]]
        y, low, high, dots = value_of(p)
        tip = (f"{commit['short']} {commit.get('date') or ''} {commit['subject'][:80]}\n{tip_of(p)}\n"
               f"machine: {p['kind']}; {text}" + ("" if commit.get("url") else f"\ncommit {commit['id']}"))
        placed.append({"x": index[p["commit"]], "y": y, "low": low, "high": high, "dots": dots,
                       "kind": p["kind"], "tip": tip, "url": commit.get("url"), "commit": p["commit"],
                       "mark": mark})
    return [(c["id"], c["short"]) for c in columns], placed


def _ms(value):
    return f"{value * 1e3:.3g}"


def speed_chart(doc, cell, phase, kinds):
    points = [p for p in doc["speed"] if p["cell"] == cell and p["phase"] == phase]
    if not points:
        return ""
    columns, placed = _place(doc, points, lambda p: (p["median_s"], p["q1_s"], p["q3_s"], ()),
                             lambda p: f"{phase} step median {_ms(p['median_s'])} ms, IQR "
                                       f"[{_ms(p['q1_s'])}, {_ms(p['q3_s'])}] ms over {p.get('rounds')} rounds")
    return svg.point_chart(f"{cell}: {phase} step time (median, IQR), {points[0]['device']}", columns,
                           placed, "ms per step", _ms, kinds)


def accuracy_chart(doc, cell, kinds):
    points = [p for p in doc["accuracy"] if p["cell"] == cell]
    if not points:
        return ""
    columns, placed = _place(doc, points, lambda p: (p["mean"], p["low"], p["high"], [v for _, v in p["seeds"]]),
                             lambda p: f"mean {p['mean']:.4f}, 95% interval [{p['low']:.4f}, {p['high']:.4f}] "
                                       f"over {len(p['seeds'])} seed(s)")
    return svg.point_chart(f"{cell}: test accuracy (each seed, the mean's 95% interval)", columns, placed,
                           "accuracy, last 3 epochs", lambda v: f"{v:.3f}", kinds)


def curves_block(doc, cell):
    """The latest baseline's learning curves over a chosen earlier one, and the select."""
    curves = [c for c in doc["curves"] if c["cell"] == cell]
    if not curves:
        return ""
    label = {c["id"]: f"{c['short']} {c['subject'][:50]}" for c in doc["commits"]}
    short = {c["id"]: c["short"] for c in doc["commits"]}
    latest, earlier = curves[-1], curves[:-1][::-1]
    default = earlier[0]["commit"] if earlier else None
    options = "".join(f'<option value="{_q(c["commit"])}">{_q(label[c["commit"]])}</option>' for c in earlier)
    select = (f'<label>compare with <select class="vs" data-cell="{_q(cell)}">{options}</select></label>'
              if earlier else "<p>no earlier baseline to compare with</p>")
    charts = [svg.curves_chart(f"{cell}: train loss", (f"latest {short[latest['commit']]}", latest["train"]),
                               [(c["commit"], label[c["commit"]], c["train"]) for c in earlier], default,
                               "train step", "loss", lambda v: f"{v:.2f}"),
              svg.curves_chart(f"{cell}: test accuracy", (f"latest {short[latest['commit']]}", latest["test"]),
                               [(c["commit"], label[c["commit"]], c["test"]) for c in earlier], default,
                               "epoch", "accuracy", lambda v: f"{v:.3f}")]
    return f'<div class="curves">{select}<div class="row">{"".join(charts)}</div></div>'


def changes(doc):
    """``[(cell, what, before, after, relative change, from point, to point)]``: each series
    of the newest baseline (of its speed run, or of the cells' files) against its previous
    point of the same machine kind, largest change first."""
    order = {c["id"]: k for k, c in enumerate(doc["commits"])}
    series = {}
    for p in doc["speed"]:
        series.setdefault((p["cell"], f"{p['phase']} step median", p["kind"]), []).append((p, p["median_s"]))
    for p in doc["accuracy"]:
        series.setdefault((p["cell"], "mean test accuracy", p["kind"]), []).append((p, p["mean"]))
    newest = {what: max(order[p["commit"]] for p in doc[what]) for what in ("speed", "accuracy") if doc[what]}
    rows = []
    for (cell, what, _kind), points in series.items():
        points.sort(key=lambda item: order[item[0]["commit"]])
        metric = "accuracy" if what == "mean test accuracy" else "speed"
        if len(points) < 2 or order[points[-1][0]["commit"]] != newest[metric]:
            continue  # a series the newest baseline no longer has (another machine kind)
        (before, a), (after, b) = points[-2], points[-1]
        rows.append((cell, what, a, b, (b - a) / a if a else 0.0, before, after))
    return sorted(rows, key=lambda r: -abs(r[4]))


def _fmt_value(what, value):
    return f"{value * 1e3:.3g} ms" if "step" in what else f"{value:.4f}"


def changes_table(doc):
    short = {c["id"]: c for c in doc["commits"]}

    def link(commit_id):
        c = short[commit_id]
        return f'<a href="{_q(c["url"])}">{_q(c["short"])}</a>' if c.get("url") else f'<code title="{_q(c["id"])}">{_q(c["id"][:12])}</code>'

    rows = changes(doc)
    if not rows:
        return "<p>No series has two points yet: nothing to compare.</p>"
    body = "".join(f'<tr data-cell="{_q(cell)}"><td>{_q(cell)}</td><td>{_q(what)}</td>'
                   f'<td>{_fmt_value(what, a)}</td><td>{_fmt_value(what, b)}</td><td>{change:+.1%}</td>'
                   f'<td>{link(before["commit"])} &rarr; {link(after["commit"])}</td><td>{_q(after["kind"])}</td></tr>'
                   for cell, what, a, b, change, before, after in rows)
    return ('<table class="changes"><thead><tr><th>cell</th><th>what</th><th>before</th><th>after</th>'
            '<th>change</th><th>commits</th><th>machine</th></tr></thead><tbody>' + body + "</tbody></table>")


def skipped_list(doc):
    if not doc["skipped"]:
        return ""
    items = "".join(f'<li><code>{_q(s["path"])}</code> at <code>{_q(s["commit"][:12])}</code>: {_q(s["reason"])}</li>'
                    for s in doc["skipped"])
    return f'<section id="skipped"><h2>Skipped files ({len(doc["skipped"])})</h2><ul>{items}</ul></section>'


def cells_of(doc):
    return list(dict.fromkeys([p["cell"] for p in doc["accuracy"]] + [p["cell"] for p in doc["speed"]]))


def render(doc):
    cells = cells_of(doc)
    speed_kinds = sorted({p["kind"] for p in doc["speed"]})
    accuracy_kinds = sorted({p["kind"] for p in doc["accuracy"]})
    sections = []
    for cell in cells:
        charts = [speed_chart(doc, cell, phase, speed_kinds) for phase in PHASES]
        charts.append(accuracy_chart(doc, cell, accuracy_kinds))
        sections.append(f'<section class="cell" id="cell-{_q(cell)}" data-cell="{_q(cell)}"><h2>{_q(cell)}</h2>'
                        f'<div class="row">{"".join(c for c in charts if c)}</div>{curves_block(doc, cell)}</section>')
    options = "".join(f'<option value="{_q(c)}">{_q(c)}</option>' for c in cells)
    notice = f'<p class="notice">{_q(doc["notice"])}</p>' if doc.get("notice") else ""
    links = ("each point links to its commit" if doc.get("commit_url")
             else "no known forge in the git remote: commits are shown by sha")
    head = (f"<p>{len(doc['commits'])} commits that changed <code>baselines/</code>; {links}. A point's "
            "tooltip names its machine kind and TensorFlow/Keras versions; lines join only points of one "
            "kind; dashed markers show where versions changed.</p>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>rnnbench history</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{FAVICON}<style>{CSS}</style></head>
<body><h1>rnnbench: speed and accuracy over commits</h1>{notice}{head}
<section id="changes"><h2>Changed since the previous baseline</h2>
<p>Each series of the newest baseline against its previous point of the same machine kind, largest change first.</p>
{changes_table(doc)}</section>{skipped_list(doc)}
<nav id="filter"><label>cell <select id="cell-filter"><option value="">all cells</option>{options}</select></label>
<a id="permalink" href="#">permalink</a></nav>
{"".join(sections)}
{json_script("history-data", doc)}
<script>{PAGE_SCRIPT}</script></body></html>
"""
