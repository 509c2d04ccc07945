"""PNG plots of learning curves, step speed, and a run against its baseline distribution.

Each plot is drawn on its own ``matplotlib.figure.Figure`` with an Agg canvas, never
through pyplot, so no global figure state leaks between plots (and no display is needed).
PNGs are rendered to bytes and written atomically. No TensorFlow is imported.
"""

import dataclasses
import math
from io import BytesIO
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rnn_models.config import PHASES
from rnn_models.records.atomic import write_bytes_atomic
from rnn_models.records.baselines import load_all
from rnn_models.records.speed_runs import StoredRunError, newest_run, read_run
from rnn_models.speed.records import stored_plot_rows

PHASE_COLORS = {"train": "tab:blue", "inference": "tab:orange"}
IMPLEMENTATIONS = ("rnnbench", "torch")  # our step, and its PyTorch reference beside it
TORCH_ALPHA = 0.45


# --- adapters -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Curves:
    train_step: list
    train_loss: list  # mean loss per logging window
    test_epoch: list
    test_step: list
    test_accuracy: list  # mean test accuracy per epoch


def curves_of(obj):
    """The curves of a RunResult or a CellBaseline (its reference run)."""
    return Curves(
        train_step=[w.step for w in obj.train_curve],
        train_loss=[w.loss for w in obj.train_curve],
        test_epoch=[e.epoch for e in obj.test_curve],
        test_step=[e.step for e in obj.test_curve],
        test_accuracy=[e.accuracy_mean for e in obj.test_curve],
    )


def _as_dict(obj_or_dict):
    return dict(obj_or_dict) if isinstance(obj_or_dict, dict) else {obj_or_dict.cell: obj_or_dict}


def identical_groups(curves):
    """``{name: name of the first earlier series with exactly the same curves}``."""
    seen, same = {}, {}
    for name, c in curves.items():
        key = (tuple(c.train_step), tuple(c.train_loss), tuple(c.test_step), tuple(c.test_accuracy))
        if key in seen:
            same[name] = seen[key]
        else:
            seen[key] = name
    return same


# --- plots --------------------------------------------------------------------------


def plot_learning_curves(results, path):
    return _save(learning_curves_figure(results), path)


def learning_curves_figure(results):
    """Train loss and test accuracy vs step, every cell of ``{cell: run or baseline}`` overlaid.

    A series bit-identical to an earlier one (basic_lstm and lstm with default options)
    is drawn dashed with hollow markers over it, and labelled as identical, so both show.
    """
    fig = _figure(figsize=(12, 4.5))
    loss_ax, acc_ax = fig.subplots(1, 2)
    curves = {cell: curves_of(obj) for cell, obj in results.items()}
    same = identical_groups(curves)
    colors = {}
    for i, (cell, c) in enumerate(curves.items()):
        colors[cell] = f"C{i}"
        label = f"{cell} (identical to {same[cell]})" if cell in same else cell
        style = dict(linestyle="--", linewidth=2.2, zorder=3) if cell in same else dict(linewidth=1.4)
        marker = dict(marker="o", markerfacecolor="none", markersize=8) if cell in same else dict(marker="o")
        loss_ax.plot(c.train_step, c.train_loss, color=colors[cell], label=label, **style)
        acc_ax.plot(c.test_step, c.test_accuracy, color=colors[cell], label=label, **style, **marker)
    loss_ax.set(title="Train loss (mean per logging window)", xlabel="step (batches)",
                ylabel="cross-entropy loss (nats)")
    acc_ax.set(title="Test accuracy (mean over test batches)", xlabel="step (batches)",
               ylabel="accuracy (fraction correct)")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        if results:
            ax.legend(fontsize="small")
    return fig


def plot_speed(rows, path):
    return _save(speed_figure(rows), path)


def speed_figure(rows):
    """Horizontal bars of ms per step, one panel per device: for each cell, each phase's
    step beside its PyTorch reference (lighter, hatched), with the interquartile range
    as an error bar.

    ``rows``: dicts with ``cell``, ``device``, ``phase``, ``impl`` (``rnnbench`` or
    ``torch``), ``median_s`` and optionally ``q1_s``/``q3_s``, ``ratio_to_torch`` and
    ``ratio_to_limit`` (annotated beside the bar).
    """
    devices = list(dict.fromkeys(r["device"] for r in rows)) or ["(no data)"]
    phases = [p for p in PHASES if any(r["phase"] == p for r in rows)]
    phases += list(dict.fromkeys(r["phase"] for r in rows if r["phase"] not in phases))
    colors = {p: PHASE_COLORS.get(p, f"C{i + 2}") for i, p in enumerate(phases)}
    slots = [(p, impl) for p in phases for impl in IMPLEMENTATIONS]
    height = 0.8 / max(1, len(slots))
    n_cells = len({r["cell"] for r in rows})
    fig = _figure(figsize=(7.5 * len(devices), 1.6 + 0.22 * max(1, n_cells) * max(1, len(slots))))
    axes = fig.subplots(1, len(devices), squeeze=False)[0]
    for ax, device in zip(axes, devices):
        device_rows = {(r["cell"], r["phase"], r.get("impl", "rnnbench")): r
                       for r in rows if r["device"] == device}
        cells = list(dict.fromkeys(cell for cell, _, _ in device_rows))
        for j, (phase, impl) in enumerate(slots):
            for i, cell in enumerate(cells):
                row = device_rows.get((cell, phase, impl))
                if row is None:
                    continue
                y = i - 0.4 + height * (j + 0.5)
                ms = row["median_s"] * 1e3
                spread = None
                if row.get("q1_s") is not None and row.get("q3_s") is not None:
                    spread = [[ms - row["q1_s"] * 1e3], [row["q3_s"] * 1e3 - ms]]
                torch = impl == "torch"
                bars = ax.barh(y, ms, height=height, color=colors[phase],
                               alpha=TORCH_ALPHA if torch else 1.0, hatch="//" if torch else None,
                               edgecolor="black" if torch else None, linewidth=0.3, xerr=spread,
                               error_kw=dict(elinewidth=0.8, capsize=2))
                bars.patches[0].set_gid(f"{cell}|{phase}|{impl}")  # what each bar is, for tests
                note = "PyTorch" if torch else _ratio_note(row)
                ax.annotate(f"{ms:.3g} ms" + (f"  ({note})" if note else ""),
                            (ms + (spread[1][0] if spread else 0), y), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize="x-small")
        ax.set_yticks(range(len(cells)), cells)
        ax.invert_yaxis()
        ax.set(title=f"Step time on {device} (bars: median; whiskers: interquartile range)",
               xlabel="time per step (ms)")
        ax.margins(x=0.4)
        ax.grid(axis="x", alpha=0.3)
    if slots:  # one legend above the panels, clear of the bars' annotations
        handles = [Patch(color=colors[p], alpha=TORCH_ALPHA if impl == "torch" else 1.0,
                         hatch="//" if impl == "torch" else None)
                   for p, impl in slots]
        labels = [f"{p} ({'PyTorch' if impl == 'torch' else 'rnnbench'})" for p, impl in slots]
        fig.legend(handles, labels, loc="outside upper center", ncols=len(slots), fontsize="small")
    return fig


def plot_against_baseline(result, baseline, path):
    return _save(against_baseline_figure(result, baseline), path)


def against_baseline_figure(result, baseline):
    """Test accuracy per epoch of a run against its baseline distribution: the stored
    seeds' band (min to max) and mean, the stored seed-0 run, and the tutorial's figure.

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
        base = baselines.get(cell)
        if base is not None:
            c = curves_of(base)
            per_epoch = list(zip(*(r.test_accuracy for r in base.seeds)))
            ax.fill_between(c.test_epoch, [min(v) for v in per_epoch], [max(v) for v in per_epoch],
                            color="tab:gray", alpha=0.25, label=f"baseline band ({len(base.seeds)} seeds, min-max)")
            ax.plot(c.test_epoch, [sum(v) / len(v) for v in per_epoch], color="tab:gray",
                    linestyle=":", label="baseline mean over seeds")
            ax.plot(c.test_epoch, c.test_accuracy, marker="s", color="tab:gray", label="baseline seed 0")
            if base.tutorial_floor is not None:
                ax.axhline(base.tutorial_floor, color="black", linestyle="--", linewidth=1,
                           label=f"tutorial floor {base.tutorial_floor:.3f}")
        ax.plot(run.test_epoch, run.test_accuracy, marker="o", color="tab:blue", label="this run")
        ax.set(title=f"{cell}: test accuracy per epoch", xlabel="epoch",
               ylabel="test accuracy (fraction correct, mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="lower right")
    return fig


# --- stored files -------------------------------------------------------------------


def speed_rows_of(run):
    """Plot rows of a StoredRun: each timed step and each PyTorch reference with a cell."""
    return [row for name, bench in run.benchmarks.items() for row in stored_plot_rows(name, bench)]


def speed_rows_from_benchmark_json(path):
    """Speed rows from one pytest-benchmark JSON file (a ValueError names a bad file)."""
    try:
        return speed_rows_of(read_run(path))
    except StoredRunError as err:
        raise ValueError(f"Cannot read pytest-benchmark file {err}") from None


def plot_all(baseline_dir, out_dir, results=None, benchmark_json=None, speed_rows=None, warn=None):
    """Redraws every plot from stored files into ``out_dir``; returns the written paths.

    - ``learning_curves.png``: the curves of ``results`` ({cell: RunResult}) when given,
      else of the stored baselines ``baseline_dir/*.json``;
    - ``against_baseline.png``: ``results`` vs their baselines, when both exist;
    - ``speed.png``: from ``speed_rows`` (this session's), else ``benchmark_json``, else
      the newest stored run under ``baseline_dir/benchmarks/``; skipped when there is none.
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
    rows = speed_rows
    if rows is None:
        if benchmark_json is not None:
            rows = speed_rows_from_benchmark_json(benchmark_json)
        else:
            stored = newest_run(baseline_dir / "benchmarks", warn=warn)
            rows = speed_rows_of(stored) if stored is not None else None
    if rows:
        written.append(plot_speed(rows, out_dir / "speed.png"))
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
