"""The GPU check's collector, TF-free: what ``tools/gpu_check.sh`` measured on one device,
gathered into one record (``baselines/gpu/<device slug>.json``) and drawn as a Markdown table
beside the tutorial's printed sec/iter (the generated part of ``docs/gpu.md``), with the goal
"every tutorial cell at least ``GOAL_SPEEDUP`` times faster than the tutorial".

The results folder the script fills, read by ``collect``:

- ``device.json``: ``{"device": "GPU:0", "name": "NVIDIA H200" | null, "why_not": "..." | null}``,
  TensorFlow's answer to which GPU this is (``why_not`` says why nothing ran on it);
- ``speed.json``: pytest-benchmark's ``--benchmark-json`` of ``pytest benchmarks -m speed``;
- ``runs/tutorial_<cell>.json``: each tutorial cell's 1-epoch run (a RunResult);
- ``accuracy.json``: ``rnn_models.regression.device_accuracy``'s record.

A part that did not run is absent and shown as not measured; nothing is filled in.
"""

import json
import math
from pathlib import Path

from rnn_models.machine.numerics_pin import slug
from rnn_models.records.results import RunResult
from rnn_models.registry import REGISTRY, cell_names
from rnn_models.tables import markdown_table

SCHEMA_VERSION = 1
GOAL_SPEEDUP = 10.0  # the mission's goal: each cell's train sec/iter a tenth of the tutorial's
BEGIN, END = "<!-- gpu-report:begin -->", "<!-- gpu-report:end -->"
NOT_MEASURED = "not yet measured on a GPU"


def _load_json(path):
    path = Path(path)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg}, line {err.lineno})") from None


def speed_rows(bench_json, device):
    """The timed steps on ``device`` from pytest-benchmark's JSON: one row per cell and phase,
    with the kernel path the step traced (``extra_info``) and its median and quartiles."""
    rows = []
    for bench in (bench_json or {}).get("benchmarks", []):
        info, stats = bench.get("extra_info") or {}, bench.get("stats") or {}
        if info.get("device") != device or "phase" not in info:
            continue  # a PyTorch reference, or a step on another device
        rows.append({"cell": info["cell"], "phase": info["phase"], "kernel_path": info.get("kernel_path"),
                     "median_s": stats["median"], "q1_s": stats.get("q1"), "q3_s": stats.get("q3"),
                     "rounds": stats.get("rounds")})
    order = {name: k for k, name in enumerate(REGISTRY)}
    return sorted(rows, key=lambda r: (order.get(r["cell"], len(order)), r["phase"]))


def tutorial_row(cell, run):
    """A tutorial cell's 1-epoch run (a RunResult, or None when it did not run) beside the
    tutorial's printed sec/iter; ``speedup`` is the tutorial's train sec/iter over this one's."""
    train, test = REGISTRY[cell].tutorial_sec_per_iter
    row = {"cell": cell, "tutorial_train_s": train, "tutorial_test_s": test, "measured": run is not None}
    if run is not None:
        row.update(device=run.device, kernel_path=run.kernel_path, steps=run.steps,
                   train_s=run.train_sec_per_iter, test_s=run.test_sec_per_iter,
                   test_accuracy=run.final_test.accuracy_mean if run.test_curve else None,
                   finite=run.finite, speedup=train / run.train_sec_per_iter)
    return row


def goal(rows):
    """The goal check over the tutorial rows: met only when every cell was measured and each
    is at least GOAL_SPEEDUP times faster; None (not judged) when none was measured."""
    measured = [r for r in rows if r["measured"]]
    if not measured:
        return {"target_speedup": GOAL_SPEEDUP, "met": None, "slowest": None}
    slowest = min(measured, key=lambda r: r["speedup"])
    met = len(measured) == len(rows) and all(r["speedup"] >= GOAL_SPEEDUP for r in rows)
    return {"target_speedup": GOAL_SPEEDUP, "met": met,
            "slowest": {"cell": slowest["cell"], "speedup": slowest["speedup"]},
            "unmeasured": [r["cell"] for r in rows if not r["measured"]]}


def collect(folder):
    """The record of one GPU check from its results ``folder`` (see the module's docstring)."""
    folder = Path(folder)
    device = _load_json(folder / "device.json")
    if device is None:
        raise ValueError(f"{folder}: no device.json; is this a gpu_check.sh results folder?")
    runs = {}
    for cell in cell_names(tutorial_only=True):
        path = folder / "runs" / f"tutorial_{cell}.json"
        runs[cell] = RunResult.load(path) if path.exists() else None
    rows = [tutorial_row(cell, run) for cell, run in runs.items()]
    versions = next((r.versions for r in runs.values() if r is not None), None)
    name = device.get("name")
    return {
        "schema_version": SCHEMA_VERSION,
        "device": device.get("device"),
        "device_name": name,
        "slug": slug(name) if name else None,
        "why_not": device.get("why_not"),
        "quick": bool(device.get("quick")),
        "commit": device.get("commit"),
        "versions": versions,
        "speed": speed_rows(_load_json(folder / "speed.json"), device.get("device")),
        "tutorial_runs": rows,
        "accuracy": _load_json(folder / "accuracy.json"),
        "goal": goal(rows),
    }


def _ms(seconds):
    return "-" if seconds is None or not math.isfinite(seconds) else f"{seconds * 1e3:.2f}"


def render(record):
    """The generated part of docs/gpu.md: the tutorial table, the goal, the timed steps and
    the accuracy check, as Markdown."""
    name = record.get("device_name")
    measured = name is not None and any(r["measured"] for r in record["tutorial_runs"])
    where = f"{name}, commit {record.get('commit') or '?'}" if measured else NOT_MEASURED
    if record.get("quick"):
        where += " (quick mode: a few steps per run, not the tutorial's epoch)"
    lines = [f"Measured on: {where}." + (f" Why not: {record['why_not']}" if record.get("why_not") else ""), ""]
    header = ("cell", "tutorial train / test ms", "train / test ms here (1 epoch)", "speed-up (train)",
              f">= {GOAL_SPEEDUP:g}x", "kernel path", "test accuracy")
    rows = []
    for r in record["tutorial_runs"]:
        tutorial = f"{_ms(r['tutorial_train_s'])} / {_ms(r['tutorial_test_s'])}"
        if not r["measured"]:
            rows.append((r["cell"], tutorial, NOT_MEASURED, "-", "-", "-", "-"))
            continue
        accuracy = "-" if r["test_accuracy"] is None else f"{r['test_accuracy']:.4f}"
        rows.append((r["cell"], tutorial, f"{_ms(r['train_s'])} / {_ms(r['test_s'])}", f"{r['speedup']:.1f}x",
                     "yes" if r["speedup"] >= GOAL_SPEEDUP else "no", r["kernel_path"], accuracy))
    lines += [markdown_table(header, rows), ""]
    g = record["goal"]
    if g["met"] is None:
        lines.append(f"Goal (every cell at least {GOAL_SPEEDUP:g}x faster than the tutorial): not judged, "
                     f"{NOT_MEASURED}.")
    else:
        verdict = "met" if g["met"] else "NOT met"
        lines.append(f"Goal (every cell at least {GOAL_SPEEDUP:g}x faster than the tutorial): {verdict}; "
                     f"slowest {g['slowest']['cell']} at {g['slowest']['speedup']:.1f}x"
                     + (f"; not measured: {', '.join(g['unmeasured'])}" if g.get("unmeasured") else "") + ".")
    lines.append("")
    if record["speed"]:
        lines += ["Timed steps (`pytest benchmarks -m speed`, pytest-benchmark, median of its rounds):", ""]
        lines.append(markdown_table(
            ("cell", "phase", "kernel path", "median ms", "IQR ms", "rounds"),
            [(s["cell"], s["phase"], s["kernel_path"] or "?", _ms(s["median_s"]),
              f"{_ms(s['q1_s'])}-{_ms(s['q3_s'])}", str(s["rounds"])) for s in record["speed"]]))
    else:
        lines.append(f"Timed steps (`pytest benchmarks -m speed`): {NOT_MEASURED}.")
    lines.append("")
    acc = record.get("accuracy")
    if acc:
        same = "identical to" if acc["identical_to_cpu"] else "not identical to"
        lines.append(f"Accuracy: {acc['cell']} seed 0 on {acc['device']} is {same} the stored CPU seed-0 run"
                     + (f" (first difference: {acc['first_difference']})" if acc["first_difference"] else "")
                     + f"; the statistical path says {acc['verdict']} ({acc['detail']}), "
                     + ("as an unchanged model must." if acc["judged_correctly"] else "a false alarm."))
    else:
        lines.append(f"Accuracy (seed 0 on the GPU against the CPU baseline): {NOT_MEASURED}.")
    return "\n".join(lines) + "\n"


def fill_page(page, table):
    """``page`` (docs/gpu.md's text) with the part between its markers replaced by ``table``."""
    head, begin, rest = page.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"the page has no {BEGIN} ... {END} part to fill")
    return f"{head}{BEGIN}\n{table}{END}{tail}"
