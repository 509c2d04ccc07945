"""The A/B gate's stored calibration, ``baselines/speed_gate.json``: its thresholds and the
measurements they come from (written by ``python -m rnn_models gate-check``)."""

import json
from pathlib import Path

from rnn_models.regression.speed import Thresholds

CALIBRATION_FILE = "speed_gate.json"
SCHEMA_VERSION = 1


class CalibrationError(ValueError):
    """A calibration file that is missing or unreadable; the message names it."""


def calibration_path(baselines_dir):
    return Path(baselines_dir) / CALIBRATION_FILE


def load_calibration(baselines_dir):
    """``(Thresholds, calibration dict)`` from the stored file."""
    path = calibration_path(baselines_dir)
    if not path.is_file():
        raise CalibrationError(f"no A/B gate calibration at {path}: run `python -m rnn_models "
                               "gate-check` on this machine to measure one")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r} is not {SCHEMA_VERSION}")
        t = data["thresholds"]
        thresholds = Thresholds(float(t["min_effect"]), float(t["process_sigma"]),
                                float(t["family_alpha"]), tuple(int(n) for n in t["looks"]),
                                float(t["block_s"]))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise CalibrationError(f"{path} is not a valid A/B gate calibration: {err}") from err
    return thresholds, data


def summary_line(data):
    """The calibration's measured rates, in one line, for the gate's report."""
    m = data.get("measured", {})
    aa = m.get("aa", {})
    parts = [f"A/A: {aa.get('runs_with_false_alarm', '?')} of {aa.get('runs', '?')} runs with a false alarm"]
    for inj in m.get("injected", []):
        parts.append(f"+{inj['slowdown']:.0%} on {inj['cell']} {inj['phase']}: flagged in "
                     f"{inj['flagged']} of {inj['runs']}")
    return f"calibrated {data.get('date', '?')} ({'; '.join(parts)})"
