"""The speed records' schema, in one place and TF-free: what a timed step's pytest-benchmark
entry keeps in its ``extra_info`` beside the timing (``step_extra_info`` for a timed step,
``gate_extra_info`` for the speed gate's verdict and A/B, ``reference_extra_info`` for a
PyTorch reference), and the speed plot's rows, made from a live result or a stored entry."""

import dataclasses

from rnn_models.speed import torch_reference

# SpeedResult's fields that pytest-benchmark's own stats already hold, or that are not a record.
_NOT_RECORDED = ("median_s", "q1_s", "q3_s", "loss")


def step_extra_info(result):
    """A timed step's ``extra_info``: a SpeedResult's fields, its FLOPs and rates."""
    info = {k: v for k, v in dataclasses.asdict(result).items() if k not in _NOT_RECORDED and v is not None}
    info.update(flops_per_step=result.flops_per_step, gflop_per_s=result.gflop_per_s)
    if result.limit_s is not None:
        info.update(limit_s=result.limit_s, ratio_to_limit=result.ratio_to_limit)
    return info


def gate_extra_info(outcome):
    """What the speed gate adds to a step's ``extra_info``: its verdict, and the A/B's ratio,
    interval and medians when an A/B judged it (``outcome.ab``, an ABResult)."""
    info = {"gate_mode": outcome.mode, "gate_verdict": outcome.verdict, "gate_judged_by": outcome.judged_by}
    ab = outcome.ab
    if ab is not None:
        d = ab.decision
        info.update(ab_ratio=d.ratio, ab_low=d.low, ab_high=d.high, ab_verdict=d.verdict, ab_units=d.units,
                    ab_unit_steps=ab.unit_steps, ab_current_median_s=ab.current_median_s,
                    ab_baseline_median_s=ab.baseline_median_s)
    return info


def reference_extra_info(cell, phase):
    """The ``extra_info`` of a PyTorch reference's own benchmark (read by ``stored_plot_rows``)."""
    return {"reference": "torch", "cell": cell, "phase": phase,
            "torch_model": torch_reference.equivalent(cell)}


def plot_row(cell, device, phase, impl, median_s, q1_s=None, q3_s=None, ratio_to_torch=None,
             ratio_to_limit=None):
    """One bar of the speed plot (``rnn_models.plots.plot_speed``); None fields left out."""
    row = {"cell": cell, "device": device, "phase": phase, "impl": impl, "median_s": float(median_s)}
    for key, value in (("q1_s", q1_s), ("q3_s", q3_s), ("ratio_to_torch", ratio_to_torch),
                       ("ratio_to_limit", ratio_to_limit)):
        if value is not None:
            row[key] = float(value)
    return row


def stored_plot_rows(name, bench):
    """The plot rows of one stored benchmark entry (``name``: pytest's test name; ``bench``:
    pytest-benchmark's entry, whose ``extra_info`` is ``SpeedResult.extra_info`` or
    ``reference_extra_info``): a timed step or a PyTorch reference; [] for anything else."""
    info = bench.get("extra_info") or {}
    torch = info.get("reference") == "torch"
    params = name.partition("[")[2].rstrip("]").split("-") if "[" in name else []
    cell = info.get("cell") or (params[0] if torch and params else None)
    if not cell:
        return []
    stats = bench["stats"]
    return [plot_row(cell, info.get("device") or "CPU:0", info.get("phase") or bench.get("group") or "unknown",
                     "torch" if torch else "rnnbench", stats["median"], stats.get("q1"), stats.get("q3"),
                     info.get("ratio_to_torch"), info.get("ratio_to_limit"))]
