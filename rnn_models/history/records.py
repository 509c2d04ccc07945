"""One stored file's content -> the history's points: pure functions on parsed JSON, no git
and no files. A file of a shape these do not know raises ValueError naming what is missing.

- a pytest-benchmark run (``baselines/benchmarks/**.json``, or a saved run): one speed point
  per timed step, its median with the IQR (``q1``, ``q3``, seconds);
- a cell's baseline (``baselines/<cell>.json``, any schema version): one accuracy point, every
  seed's statistic (the accuracy gate's: mean test accuracy over the last epochs) and the
  mean's 95% t-interval, and seed 0's learning curves;
- a ``RunResult`` (``python -m rnn_models train --out``): an accuracy point of its one seed.
"""

import math
import statistics

from rnn_models.records.calibrations import machine_kind
from rnn_models.records.speed_runs import FINGERPRINT_KEY

SPEED_TEST = "test_step_speed"  # the timed steps; the PyTorch reference group is not a cell's
UNKNOWN_KIND = "unknown machine"
LAST_EPOCHS = 3  # the accuracy gate's default statistic (rnn_models.regression.accuracy.Policy)


def _versions(versions):
    """``{"tensorflow": ..., "keras": ...}`` of a stored versions dict ("?" where absent)."""
    versions = versions if isinstance(versions, dict) else {}
    return {"tensorflow": versions.get("tensorflow", "?"), "keras": versions.get("keras", "?")}


def _need(data, *keys, what):
    if not isinstance(data, dict):
        raise ValueError(f"{what}: expected a JSON object, got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{what}: no {', '.join(map(repr, missing))}")
    return data


def is_speed_run(data):
    return isinstance(data, dict) and "benchmarks" in data and "machine_info" in data


def speed_machine(machine_info):
    """``(kind, versions)`` of a pytest-benchmark run: from the suite's fingerprint where the
    run has one, else from pytest-benchmark's own cpu fields (no library versions then)."""
    fingerprint = machine_info.get(FINGERPRINT_KEY)
    if isinstance(fingerprint, dict):
        return machine_kind(fingerprint), _versions(fingerprint.get("versions"))
    cpu = machine_info.get("cpu") or {}
    if not cpu.get("brand_raw"):
        return UNKNOWN_KIND, _versions(None)
    fields = "/".join(str(cpu.get(k, "?")) for k in ("family", "model", "stepping"))
    return machine_kind({"cpu": f"{cpu['brand_raw']} (family/model/stepping {fields})",
                         "cores": cpu.get("count")}), _versions(None)


def speed_points(data, commit):
    """The timed steps of a pytest-benchmark run as points at ``commit`` (an id string)."""
    _need(data, "benchmarks", "machine_info", what="pytest-benchmark run")
    kind, versions = speed_machine(data["machine_info"] or {})
    recorded_at = (data.get("commit_info") or {}).get("id")
    points = []
    for bench in data["benchmarks"]:
        if not str(bench.get("name", "")).startswith(SPEED_TEST):
            continue
        params, stats = bench.get("params") or {}, _need(bench.get("stats"), "median", "q1", "q3",
                                                         what=f"benchmark {bench.get('name')} stats")
        if not {"cell", "phase", "device"} <= set(params):
            raise ValueError(f"benchmark {bench.get('name')}: params lack cell, phase or device")
        points.append({"cell": params["cell"], "phase": params["phase"], "device": params["device"],
                       "commit": commit, "median_s": float(stats["median"]), "q1_s": float(stats["q1"]),
                       "q3_s": float(stats["q3"]), "rounds": stats.get("rounds"), "kind": kind,
                       "versions": versions, "recorded_at": recorded_at})
    return points


def statistic(test_accuracy):
    values = [float(v) for v in test_accuracy][-LAST_EPOCHS:]
    return math.fsum(values) / len(values) if values else math.nan


def mean_interval(values, level=0.95):
    """``(mean, low, high)``: the t-interval of the mean (low = high = mean for one value)."""
    from scipy import stats

    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return mean, float(mean - half), float(mean + half)


def _curves(curves):
    """``{"train": [[step, loss]], "test": [[epoch, accuracy]]}`` of stored curves."""
    curves = curves or {}
    return {"train": [[w["step"], w["loss"]] for w in curves.get("train_curve", [])],
            "test": [[e["epoch"], e["accuracy_mean"]] for e in curves.get("test_curve", [])]}


def is_cell_baseline(data):
    """A cell's baseline names its cell; one that lacks what a baseline holds is then an error
    (``cell_points``), never silently left out."""
    return isinstance(data, dict) and "cell" in data and "train_curve" not in data


def cell_points(data, commit):
    """``(accuracy point, curves record)`` of a cell's baseline file at ``commit``. Schema 1
    stored seed 0 alone (its curves); later schemas store every seed's test accuracy."""
    _need(data, "cell", "config", "curves", what="cell baseline")
    cell = data["cell"]
    seeds = data.get("seeds")
    if seeds:
        values = [(int(s["seed"]), statistic(s["test_accuracy"])) for s in seeds]
        fingerprint = seeds[0].get("fingerprint")
    else:  # schema 1: the reference run only
        values = [(0, statistic(e["accuracy_mean"] for e in data["curves"]["test_curve"]))]
        fingerprint = None
    if not values or not all(math.isfinite(v) for _, v in values):
        raise ValueError(f"cell baseline {cell}: a seed's test accuracy is missing or not finite")
    mean, low, high = mean_interval([v for _, v in values])
    kind = machine_kind(fingerprint) if fingerprint else UNKNOWN_KIND
    point = {"cell": cell, "commit": commit, "seeds": [[s, v] for s, v in values], "mean": mean,
             "low": low, "high": high, "kind": kind, "versions": _versions(data.get("versions"))}
    return point, {"cell": cell, "commit": commit, **_curves(data["curves"])}


def is_run_result(data):
    return isinstance(data, dict) and "config" in data and "train_curve" in data and "test_curve" in data


def run_result_points(data, commit):
    """A RunResult dict (``python -m rnn_models train --out``) as one seed's accuracy point."""
    _need(data, "config", "train_curve", "test_curve", what="RunResult")
    seed = int(data["config"].get("seed", 0))
    value = statistic(e["accuracy_mean"] for e in data["test_curve"])
    fingerprint = data.get("fingerprint")
    point = {"cell": data["config"]["cell"], "commit": commit, "seeds": [[seed, value]], "mean": value,
             "low": value, "high": value, "kind": machine_kind(fingerprint) if fingerprint else UNKNOWN_KIND,
             "versions": _versions(data.get("versions"))}
    curves = _curves({"train_curve": data["train_curve"], "test_curve": data["test_curve"]})
    return point, {"cell": point["cell"], "commit": commit, **curves}
