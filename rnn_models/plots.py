"""PNG plots of learning curves, step speed, and a run against its baseline.

Each plot is drawn on its own ``matplotlib.figure.Figure`` with an Agg canvas, never
through pyplot, so no global figure state leaks between plots (and no display is needed).
PNGs are rendered to bytes and written atomically.
"""

import dataclasses
import json
import math
from io import BytesIO
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rnn_models._atomic import write_bytes_atomic
from rnn_models.baseline import load_all

PHASE_ORDER = ("train", "test")
PHASE_COLORS = {"train": "tab:blue", "test": "tab:orange"}


# --- adapters -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Curves:
    train_step: list
    train_loss: list  # mean loss per logging window
    test_epoch: list
    test_step: list
    test_accuracy: list  # mean test accuracy per epoch


def curves_of(obj):
    """The curves of a RunResult or a CellBaseline (both carry train_curve and test_curve)."""
    return Curves(
        train_step=[w.step for w in obj.train_curve],
        train_loss=[w.loss for w in obj.train_curve],
        test_epoch=[e.epoch for e in obj.test_curve],
        test_step=[e.step for e in obj.test_curve],
        test_accuracy=[e.accuracy_mean for e in obj.test_curve],
    )


def _as_dict(obj_or_dict):
    return dict(obj_or_dict) if isinstance(obj_or_dict, dict) else {obj_or_dict.cell: obj_or_dict}


# --- plots --------------------------------------------------------------------------


def plot_learning_curves(results, path):
    """Train loss and test accuracy vs step, every cell of ``{cell: run or baseline}`` overlaid."""
    fig = _figure(figsize=(12, 4.5))
    loss_ax, acc_ax = fig.subplots(1, 2)
    for cell, obj in results.items():
        c = curves_of(obj)
        (line,) = loss_ax.plot(c.train_step, c.train_loss, label=cell)
        acc_ax.plot(c.test_step, c.test_accuracy, marker="o", color=line.get_color(), label=cell)
    loss_ax.set(title="Train loss (mean per logging window)", xlabel="step (batches)",
                ylabel="cross-entropy loss (nats)")
    acc_ax.set(title="Test accuracy (mean over test batches)", xlabel="step (batches)",
               ylabel="accuracy (fraction correct)")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        if results:
            ax.legend(fontsize="small")
    return _save(fig, path)


def plot_speed(rows, path):
    """Horizontal bars of ms per step per cell, train and test side by side, one panel per device.

    ``rows``: dicts with ``cell``, ``device``, ``phase``, ``median_s`` and optionally
    ``ratio_to_torch`` and ``ratio_to_limit``, annotated beside the bar when present.
    """
    devices = list(dict.fromkeys(r["device"] for r in rows)) or ["(no data)"]
    # The same phases, slots and colours in every panel.
    phases = [p for p in PHASE_ORDER if any(r["phase"] == p for r in rows)]
    phases += list(dict.fromkeys(r["phase"] for r in rows if r["phase"] not in phases))
    colors = {p: PHASE_COLORS.get(p, f"C{i + 2}") for i, p in enumerate(phases)}
    height = 0.8 / max(1, len(phases))
    n_cells = len({r["cell"] for r in rows})
    fig = _figure(figsize=(7 * len(devices), 1.4 + 0.3 * max(1, n_cells) * max(1, len(phases))))
    axes = fig.subplots(1, len(devices), squeeze=False)[0]
    for ax, device in zip(axes, devices):
        device_rows = {(r["cell"], r["phase"]): r for r in rows if r["device"] == device}
        cells = list(dict.fromkeys(cell for cell, _ in device_rows))
        for j, phase in enumerate(phases):
            for i, cell in enumerate(cells):
                row = device_rows.get((cell, phase))
                if row is None:
                    continue
                y = i - 0.4 + height * (j + 0.5)
                ms = row["median_s"] * 1e3
                ax.barh(y, ms, height=height, color=colors[phase])
                note = _ratio_note(row)
                ax.annotate(f"{ms:.3g} ms" + (f"  ({note})" if note else ""), (ms, y),
                            xytext=(3, 0), textcoords="offset points", va="center",
                            fontsize="x-small")
        ax.set_yticks(range(len(cells)), cells)
        ax.invert_yaxis()
        ax.set(title=f"Step time on {device}", xlabel="median time per step (ms)")
        ax.margins(x=0.35)
        ax.grid(axis="x", alpha=0.3)
    if phases:  # one legend above the panels, clear of the bars' annotations
        fig.legend([Patch(color=colors[p]) for p in phases], phases, loc="outside upper center",
                   ncols=len(phases), fontsize="small")
    return _save(fig, path)


def plot_against_baseline(result, baseline, path):
    """Test accuracy per epoch of a run vs its baseline, with the margin band and tutorial floor.

    ``result`` and ``baseline`` are one RunResult and one CellBaseline, or dicts by cell
    (one panel per cell; a cell without a baseline shows the run alone).
    """
    results, baselines = _as_dict(result), _as_dict(baseline)
    cells = list(results)
    ncols = min(3, max(1, len(cells)))
    nrows = max(1, math.ceil(len(cells) / ncols))
    fig = _figure(figsize=(6 * ncols, 4.2 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(cells):]:
        ax.set_visible(False)
    for ax, cell in zip(axes, cells):
        run = curves_of(results[cell])
        ax.plot(run.test_epoch, run.test_accuracy, marker="o", color="tab:blue", label="this run")
        base = baselines.get(cell)
        if base is not None:
            c = curves_of(base)
            metric = base.metrics["test_accuracy"]
            ax.plot(c.test_epoch, c.test_accuracy, marker="s", color="tab:gray", label="baseline")
            ax.fill_between(c.test_epoch, [a - metric.margin for a in c.test_accuracy],
                            c.test_accuracy, color="tab:gray", alpha=0.2,
                            label=f"baseline - margin ({metric.margin:.3g})")
            ax.axhline(metric.value - metric.margin, color="tab:red", linestyle=":", linewidth=1,
                       label=f"allowed minimum {metric.value - metric.margin:.4f}")
            if base.tutorial_floor is not None:
                ax.axhline(base.tutorial_floor, color="black", linestyle="--", linewidth=1,
                           label=f"tutorial floor {base.tutorial_floor:.3f}")
        ax.set(title=f"{cell}: test accuracy per epoch", xlabel="epoch",
               ylabel="test accuracy (fraction correct, mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
    return _save(fig, path)


# --- stored files -------------------------------------------------------------------


def speed_rows_from_benchmark_json(path):
    """Speed rows from a pytest-benchmark JSON file; entries without ``extra_info.cell`` skip."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        benchmarks = data["benchmarks"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"Cannot read pytest-benchmark file {path}: {err}") from err
    rows = []
    for bench in benchmarks:
        info = bench.get("extra_info") or {}
        if not info.get("cell"):
            continue
        row = {
            "cell": info["cell"],
            "device": info.get("device") or "unknown device",
            "phase": info.get("phase") or bench.get("group") or "unknown",
            "median_s": float(bench["stats"]["median"]),
        }
        for key in ("ratio_to_torch", "ratio_to_limit"):
            if info.get(key) is not None:
                row[key] = float(info[key])
        rows.append(row)
    return rows


def newest_benchmark_json(folder):
    """The most recently written ``*.json`` under ``folder`` (recursively), or None."""
    files = [p for p in Path(folder).rglob("*.json") if p.is_file()]
    return max(files, key=lambda p: (p.stat().st_mtime, str(p))) if files else None


def plot_all(baseline_dir, out_dir, results=None, benchmark_json=None, speed_rows=None):
    """Redraws every plot from stored files into ``out_dir``; returns the written paths.

    - ``learning_curves.png``: the curves of ``results`` ({cell: RunResult}) when given,
      else of the stored baselines ``baseline_dir/*.json``;
    - ``against_baseline.png``: ``results`` vs their baselines, when both exist;
    - ``speed.png``: from ``speed_rows`` (this session's), else ``benchmark_json``, else
      the newest pytest-benchmark JSON under ``baseline_dir/benchmarks/``; skipped when
      there is none.
    """
    baseline_dir, out_dir = Path(baseline_dir), Path(out_dir)
    baselines = load_all(baseline_dir) if baseline_dir.is_dir() else {}
    written = []
    curves = results if results else baselines
    if curves:
        written.append(plot_learning_curves(curves, out_dir / "learning_curves.png"))
    if results:
        matched = {cell: run for cell, run in results.items() if cell in baselines}
        if matched:
            written.append(plot_against_baseline(
                matched, {c: baselines[c] for c in matched}, out_dir / "against_baseline.png"))
    if speed_rows is None:
        if benchmark_json is None:
            benchmark_json = newest_benchmark_json(baseline_dir / "benchmarks")
        if benchmark_json is not None:
            speed_rows = speed_rows_from_benchmark_json(benchmark_json)
    if speed_rows:
        written.append(plot_speed(speed_rows, out_dir / "speed.png"))
    return written


# --- helpers ------------------------------------------------------------------------


def _figure(figsize):
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # the Agg backend for this figure only; pyplot is never touched
    return fig


def _save(fig, path):
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    path = Path(path)
    write_bytes_atomic(path, buf.getvalue())
    return path


def _ratio_note(row):
    parts = []
    if row.get("ratio_to_torch") is not None and math.isfinite(row["ratio_to_torch"]):
        parts.append(f"{row['ratio_to_torch']:.2f}x torch")
    if row.get("ratio_to_limit") is not None and math.isfinite(row["ratio_to_limit"]):
        parts.append(f"{row['ratio_to_limit']:.2f}x limit")
    return ", ".join(parts)
