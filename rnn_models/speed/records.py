"""The speed records' schema, in one place and TF-free: what a timed step's pytest-benchmark
entry keeps in its ``extra_info`` beside the timing (``SpeedResult.extra_info`` for a step,
``reference_extra_info`` for a PyTorch reference, the gate's ``ab_*`` fields), and the speed
plot's rows made from a live result or a stored entry."""

from rnn_models.speed import torch_reference


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
