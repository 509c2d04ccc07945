"""The A/B gate's stored calibrations, one file per machine kind under
``baselines/speed_gate/<kind>.json``: each kind's thresholds and the measurements they come
from (written by ``python -m rnn_models gate-check``, which adds its kind's file and leaves
the others).

A machine of a kind with no calibration is judged with the widest stored thresholds
(``thresholds_for``), and the gate times each unclear step again with fresh workers
(``rnn_models.speed.gate``); ``baselines/speed_gate_trials.json`` holds what that was
measured to give on an uncalibrated kind (``gate-trial``), and a calibrated kind beside a second job.
"""

import json
import re
from pathlib import Path

from rnn_models.regression.speed import UNNAMED_ESTIMATOR, Thresholds

CALIBRATION_DIR = "speed_gate"
SCHEMA_VERSION = 1


class CalibrationError(ValueError):
    """A calibration file that cannot be read; the message names it and the fix."""


def machine_kind(fingerprint):
    """A calibration's kind, as a file name: the CPU model, family and model, and the usable
    cores, e.g. ``amd-epyc-family-23-model-49-2-cores`` (the stepping does not change speed)."""
    cpu = (fingerprint or {}).get("cpu") or "unknown cpu"
    cpu = re.sub(r"\(family/model/stepping (\w+)/(\w+)/\w+\)", r"family \1 model \2", cpu)
    cores = (fingerprint or {}).get("usable_cores") or (fingerprint or {}).get("cores")
    return re.sub(r"[^a-z0-9]+", "-", f"{cpu} {cores} cores".lower()).strip("-")


def calibration_path(baselines_dir, kind):
    return Path(baselines_dir) / CALIBRATION_DIR / f"{kind}.json"


def load_calibrations(baselines_dir):
    """``{kind: (Thresholds, calibration dict)}`` of every stored kind ({} where there is
    none). An unreadable or invalid file is an error naming it: a gate that silently lost
    its calibration would judge with other rules."""
    folder = Path(baselines_dir) / CALIBRATION_DIR
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        data = load_calibration_file(path)
        out[path.stem] = (_thresholds(path, data), data)
    return out


def load_calibration_file(path):
    """One calibration file's dict; a file that cannot be read is a CalibrationError naming it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}")
        if not isinstance(data.get("thresholds"), dict):
            raise ValueError("it holds no thresholds")
        return data
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise _invalid(path, err) from None


def _thresholds(path, data):
    try:
        t = data["thresholds"]
        return Thresholds(float(t["min_effect"]), float(t["process_sigma"]), float(t["family_alpha"]),
                          tuple(int(n) for n in t["looks"]), float(t["block_s"]), int(t.get("pairs", 1)),
                          int(t.get("retimes", Thresholds.retimes)),
                          str(t.get("estimator", UNNAMED_ESTIMATOR)))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise _invalid(path, err) from None


def _invalid(path, err):
    return CalibrationError(f"{path} is not a valid A/B gate calibration ({' '.join(str(err).split())}): "
                            f"restore it (git checkout -- {path}) or measure it again with `python -m "
                            "rnn_models gate-check`")


def thresholds_for(calibrations, fingerprint):
    """``(Thresholds, kind or None, how)`` for this machine: its kind's calibration, else the
    widest of every stored kind's (the largest minimum effect and process spread, the
    smallest error level), named in ``how``. None when no kind is stored."""
    kind = machine_kind(fingerprint)
    if kind in calibrations:
        thresholds, data = calibrations[kind]
        return thresholds, kind, f"calibrated on this machine kind {kind} ({summary_line(data)})"
    if not calibrations:
        return None, None, "no A/B gate calibration is stored"
    stored = [t for t, _ in calibrations.values()]
    widest = Thresholds(
        min_effect=max(t.min_effect for t in stored),
        process_sigma=max(t.process_sigma for t in stored),
        family_alpha=min(t.family_alpha for t in stored),
        looks=max((t.looks for t in stored), key=lambda looks: looks[-1]),
        block_s=max(t.block_s for t in stored),
        pairs=max(t.pairs for t in stored),
        retimes=max(t.retimes for t in stored))
    return widest, None, (f"this machine kind {kind} is not calibrated: the widest thresholds of "
                          f"{', '.join(calibrations)}")


def load_calibration(baselines_dir):
    """``(Thresholds, how)`` for this machine (``thresholds_for``), for a command that cannot
    run without one; a missing calibration is an error naming the folder and the fix."""
    from rnn_models.machine.environment import fingerprint

    thresholds, _, how = thresholds_for(load_calibrations(baselines_dir), fingerprint())
    if thresholds is None:
        raise CalibrationError(f"no A/B gate calibration under {Path(baselines_dir) / CALIBRATION_DIR}: run "
                               "`python -m rnn_models gate-check` on this machine to measure one")
    return thresholds, how


def summary_line(data):
    """The calibration's measured rates, in one line, for the gate's report."""
    m = data.get("measured", {})
    aa = m.get("aa", {})
    parts = [f"A/A: {aa.get('runs_with_false_alarm', '?')} of {aa.get('runs', '?')} runs with a false alarm"]
    for inj in m.get("injected", []):
        parts.append(f"+{inj['slowdown']:.0%} on {inj['cell']} {inj['phase']}: flagged in "
                     f"{inj['flagged']} of {inj['runs']}")
    if "placement" not in data:  # measured before the pairs were pinned (speed.ab.PLACEMENT)
        parts.append("measured with the workers free to use every core, before the A/B pinned each pair to one")
    elif "build_placement" not in data:  # measured before the workers built on the cores in turn
        parts.append("measured with each pair building on the core it is timed on, before the workers "
                     "built on the cores in turn")
    return f"calibrated {data.get('date', '?')}; {'; '.join(parts)}"
