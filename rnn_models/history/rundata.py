"""A suite run's verdicts as one data document (``kind: rnnbench-run``), the run page's input
and the ``.json`` saved beside it: taken from the session's data (RunResult dicts, the
accuracy outcomes' ``to_dict``, the speed gate's outcomes, the matrix's budget), never parsed
from its tables."""

import datetime
import json
from pathlib import Path

from rnn_models.history import records

SCHEMA_VERSION = 1
KIND = "rnnbench-run"


def _baseline(baselines, cell):
    """``(stored seeds [[seed, value]], stored seed-0 curves)`` of a cell, or ``([], None)``
    when its file is missing or unreadable (the page then shows this run alone)."""
    try:
        point, curves = records.cell_points(json.loads((Path(baselines) / f"{cell}.json").read_text()), "baseline")
    except (OSError, ValueError, KeyError, TypeError):
        return [], None
    return point["seeds"], curves


def _seed_values(outcome, runs):
    """This run's ``[[seed, value]]`` for a cell: the seeds of its last look, or seed 0's run."""
    looks = outcome.get("looks") or []
    if looks and outcome.get("candidate_values"):
        return [[s, v] for s, v in zip(looks[-1]["seeds"], outcome["candidate_values"])]
    return [[r["config"]["seed"], records.statistic(e["accuracy_mean"] for e in r["test_curve"])]
            for r in runs if r["config"]["cell"] == outcome["cell"] and r["config"]["seed"] == 0]


def run_data(*, runs, accuracy, speed, thresholds, failed, exitstatus, notes, baselines, budget=None,
             session_wall_s=None, workers=1):
    """The run document. ``runs``: RunResult dicts; ``accuracy``: outcome dicts
    (``AccuracyOutcome.to_dict``); ``speed``: ``GateOutcome.to_dict`` dicts; ``thresholds``:
    ``SpeedGate.thresholds_info()`` or None; ``failed``: failed test ids; ``budget``: the
    runs' ``matrix_budget`` (None: no budget section)."""
    from rnn_models.suite.matrix import format_budget

    cells = list(dict.fromkeys([a["cell"] for a in accuracy] + [r["config"]["cell"] for r in runs]))
    baseline = {cell: _baseline(baselines, cell) for cell in cells}
    curves = {}
    for cell in cells:
        own = [r for r in runs if r["config"]["cell"] == cell and r["config"]["seed"] == 0]
        if own:
            run = own[0]
            curves[cell] = {"run": {"train": [[w["step"], w["loss"]] for w in run["train_curve"]],
                                    "test": [[e["epoch"], e["accuracy_mean"]] for e in run["test_curve"]]},
                            "baseline": baseline[cell][1]}
    verdicts = [{**a, "seeds": _seed_values(a, runs), "stored_seeds": baseline[a["cell"]][0]} for a in accuracy]
    return {"kind": KIND, "schema_version": SCHEMA_VERSION,
            "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "exitstatus": int(exitstatus), "failed_tests": list(failed), "speed": list(speed),
            "thresholds": thresholds, "accuracy": verdicts, "curves": curves, "notes": list(notes),
            "budget": budget, "budget_text": format_budget(budget, session_wall_s, workers) if budget else None,
            "runs": list(runs)}


def failures(data):
    """One line per failure, the gate's verdicts first, then any other failed test."""
    lines = [f"speed: {o['cell']} {o['phase']} {o['device']} {o['verdict']} ({o['detail']})"
             for o in data["speed"] if o["fails"]]
    lines += [f"accuracy: {a['cell']} {a['verdict']} ({a['detail']})" for a in data["accuracy"] if a.get("fails")]
    named = {o["cell"] for o in data["speed"] if o["fails"]} | {a["cell"] for a in data["accuracy"] if a.get("fails")}
    lines += [f"test failed: {t}" for t in dict.fromkeys(data["failed_tests"])
              if not any(f"[{cell}" in t for cell in named)]
    if data["exitstatus"] != 0 and not lines:
        lines.append(f"pytest exit status {data['exitstatus']}"
                     + (f": {data['notes'][-1]}" if data["notes"] else ""))
    return lines
