"""The layer-norm numerics cases' stored outcomes, ``<baselines>/numerics.json``: whether a
run stayed finite and, if not, where and in which gradients it broke. Plain library code."""

import json
from pathlib import Path

NUMERICS_FILE = "numerics.json"


def numerics_outcome(result):
    """Whether a run stayed finite and, if not, where and in which gradients it broke."""
    nf = result.nonfinite
    return {
        "config": result.config.to_dict(),
        "finite": nf is None,
        "first_nonfinite_step": None if nf is None else nf.step,
        "variables": [] if nf is None else list(nf.variables),
    }


def load_numerics(folder):
    """``{case_name: outcome}`` from ``<folder>/numerics.json``; ``{}`` when there is none."""
    path = Path(folder) / NUMERICS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"Cannot read numerics outcomes file {path}: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path} is not a valid numerics file: expected {{case: outcome}}.")
    return data
