"""Stored per-cell accuracy baselines, numerics outcomes, and the comparison against them.

A baseline ``<folder>/<cell>.json`` records what produced it (config, versions, device)
beside its metrics; each metric carries its margin, how the margin was measured, and its
rule ("min": the run must reach at least value - margin; "max": at most value + margin).
A baseline made with another config is refused rather than compared.

Plain library code: no pytest, no TensorFlow. Every write is atomic.
"""

import dataclasses
import json
import math
from pathlib import Path

from rnn_models._atomic import write_json_atomic
from rnn_models.config import TrainConfig
from rnn_models.registry import REGISTRY
from rnn_models.results import TestEpoch, TrainWindow, nan_to_none, none_to_nan

SCHEMA_VERSION = 1
BASELINE_DIR = Path("baselines")  # relative to the CWD; every function takes the folder
NUMERICS_FILE = "numerics.json"
MARGINS_FILE = "margins.json"
# Config fields that do not change a run's numbers, so a baseline ignores them.
IGNORED_CONFIG_FIELDS = frozenset({"log_every"})
# Absorbs float rounding of ``value - margin`` only; far below any accuracy step (1/128).
_ROUNDING = 1e-12


# --- metric rules -------------------------------------------------------------------


class AtLeast:
    """Passes when ``now >= value - margin``; NaN fails."""

    name = "min"

    def fails(self, now, baseline_value, margin):
        return not now >= baseline_value - margin - _ROUNDING

    def allowed(self, baseline_value, margin):
        return f">= {baseline_value - margin:.4f}"


class AtMost:
    """Passes when ``now <= value + margin``; NaN fails."""

    name = "max"

    def fails(self, now, baseline_value, margin):
        return not now <= baseline_value + margin + _ROUNDING

    def allowed(self, baseline_value, margin):
        return f"<= {baseline_value + margin:.4f}"


RULES = {"min": AtLeast(), "max": AtMost()}

# The stored metrics and their rules, in table order.
METRIC_RULES = {"test_accuracy": "min", "final_train_loss": "max"}


def get_rule(name):
    """The rule object for ``"min"`` or ``"max"``; another string lists the valid ones."""
    try:
        return RULES[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown metric rule {name!r}. Valid rules: {', '.join(RULES)}.") from None


def metric_values(result):
    """How a RunResult maps to the baseline's metrics (NaN where the run has no value)."""
    final_test = result.final_test
    return {
        "test_accuracy": final_test.accuracy_mean if final_test is not None else math.nan,
        "final_train_loss": result.final_train_loss,
    }


# --- the baseline file ----------------------------------------------------------------


class BaselineMismatchError(ValueError):
    """A baseline was made with a config that changes the numbers."""


class MissingBaselineError(FileNotFoundError):
    """No baseline file for a cell yet."""


@dataclasses.dataclass(frozen=True)
class Metric:
    value: float
    margin: float
    rule: str  # "min" or "max"
    margin_source: str  # how the margin was measured, e.g. "3 seeded runs, 3 x std"

    def fails(self, now):
        return get_rule(self.rule).fails(now, self.value, self.margin)

    def allowed(self):
        return get_rule(self.rule).allowed(self.value, self.margin)


@dataclasses.dataclass(frozen=True)
class CellBaseline:
    cell: str
    config: TrainConfig
    versions: dict
    device: str
    kernel_path: str
    metrics: dict[str, Metric]
    tutorial_floor: float | None  # the tutorial's printed min-batch test accuracy
    train_curve: tuple[TrainWindow, ...]
    test_curve: tuple[TestEpoch, ...]

    @classmethod
    def from_result(cls, result, margins, tutorial_floor=None):
        """A baseline from ``result``; ``margins`` maps each metric to ``(margin, source)``."""
        missing = sorted(set(METRIC_RULES) - set(margins))
        unknown = sorted(set(margins) - set(METRIC_RULES))
        if missing or unknown:
            raise ValueError(
                f"`margins` must give exactly the metrics {', '.join(METRIC_RULES)}; "
                f"missing: {missing}, unknown: {unknown}."
            )
        values = metric_values(result)
        metrics = {}
        for name, rule in METRIC_RULES.items():
            margin, source = margins[name]
            if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin >= 0):
                raise ValueError(f"Margin for {name!r} must be a finite number >= 0, got {margin!r}.")
            if not math.isfinite(values[name]):
                raise ValueError(
                    f"Cannot make a {result.cell!r} baseline: its {name} is {values[name]!r}. "
                    "Record non-finite runs as numerics outcomes instead."
                )
            metrics[name] = Metric(float(values[name]), float(margin), rule, str(source))
        return cls(
            cell=result.cell,
            config=result.config,
            versions=dict(result.versions),
            device=result.device,
            kernel_path=result.kernel_path,
            metrics=metrics,
            tutorial_floor=None if tutorial_floor is None else float(tutorial_floor),
            train_curve=tuple(result.train_curve),
            test_curve=tuple(result.test_curve),
        )

    @staticmethod
    def path(folder, cell):
        return Path(folder) / f"{cell}.json"

    def to_dict(self):
        return nan_to_none({
            "schema_version": SCHEMA_VERSION,
            "cell": self.cell,
            "config": self.config.to_dict(),
            "versions": self.versions,
            "device": self.device,
            "kernel_path": self.kernel_path,
            "metrics": {name: dataclasses.asdict(m) for name, m in self.metrics.items()},
            "tutorial_floor": self.tutorial_floor,
            "curves": {
                "train_curve": [dataclasses.asdict(w) for w in self.train_curve],
                "test_curve": [dataclasses.asdict(e) for e in self.test_curve],
            },
        })

    @classmethod
    def from_dict(cls, data):
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} is not {SCHEMA_VERSION}")
        unknown = sorted(set(data["metrics"]) - set(METRIC_RULES))
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known: {', '.join(METRIC_RULES)}")
        curves = data["curves"]
        return cls(
            cell=data["cell"],
            config=TrainConfig.from_dict(data["config"]),
            versions=dict(data["versions"]),
            device=data["device"],
            kernel_path=data.get("kernel_path", ""),
            metrics={
                name: Metric(_float(m["value"]), _float(m["margin"]), get_rule(m["rule"]).name,
                             m["margin_source"])
                for name, m in data["metrics"].items()
            },
            tutorial_floor=data["tutorial_floor"],
            train_curve=tuple(TrainWindow(**none_to_nan(w)) for w in curves["train_curve"]),
            test_curve=tuple(TestEpoch(**none_to_nan(e)) for e in curves["test_curve"]),
        )

    def save(self, folder):
        """Writes ``<folder>/<cell>.json`` atomically; returns its path."""
        path = self.path(folder, self.cell)
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def load(cls, folder, cell):
        """Reads ``<folder>/<cell>.json``; a missing or invalid file is an error naming it."""
        path = cls.path(folder, cell)
        if not path.is_file():
            raise MissingBaselineError(
                f"No baseline for cell {cell!r}: {path} does not exist. Record one first."
            )
        data = _read_json(path, "baseline")
        try:
            baseline = cls.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{path} is not a valid baseline: {err}") from err
        if baseline.cell != cell:
            raise ValueError(f"{path} holds the baseline of cell {baseline.cell!r}, not {cell!r}.")
        return baseline


def load_all(folder):
    """Every baseline in ``folder``, by cell: the ``<cell>.json`` of each registered cell
    (the folder also holds numerics, margins and speed files)."""
    folder = Path(folder)
    cells = [cell for cell in REGISTRY if CellBaseline.path(folder, cell).is_file()]
    return {cell: CellBaseline.load(folder, cell) for cell in cells}


# --- config check -------------------------------------------------------------------


def config_differences(baseline_config, config):
    """``[(field, baseline value, current value)]`` for each field that changes the numbers."""
    # A JSON round trip on both sides, so a tuple and a list of the same values agree.
    base = json.loads(json.dumps(_as_config_dict(baseline_config)))
    now = json.loads(json.dumps(_as_config_dict(config)))
    missing = object()
    return [
        (name, base.get(name, missing), now.get(name, missing))
        for name in sorted((set(base) | set(now)) - IGNORED_CONFIG_FIELDS)
        if base.get(name, missing) != now.get(name, missing)
    ]


def check_config(baseline, config):
    """Raises BaselineMismatchError when ``config`` differs from the baseline's config."""
    diffs = config_differences(baseline.config, config)
    if diffs:
        lines = "\n".join(f"  {name}: baseline {_show(b)}, now {_show(n)}" for name, b, n in diffs)
        raise BaselineMismatchError(
            f"The {baseline.cell!r} baseline was made with a different config; refusing to "
            f"compare. Differing fields:\n{lines}\n"
            "Run with the baseline's config, or record a new baseline."
        )


# --- comparison ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    cell: str
    metric: str
    baseline: float | str
    now: float | str
    allowed: str
    ok: bool

    @property
    def status(self):
        return "ok" if self.ok else "FAIL"


def compare(result, baseline):
    """One Row per check of ``result`` against ``baseline`` (whose config must match)."""
    if result.cell != baseline.cell:
        raise ValueError(f"Cannot compare a {result.cell!r} run with a {baseline.cell!r} baseline.")
    check_config(baseline, result.config)
    values = metric_values(result)
    rows = [
        Row(result.cell, name, metric.value, values[name], metric.allowed(),
            not metric.fails(values[name]))
        for name, metric in baseline.metrics.items()
    ]
    if baseline.tutorial_floor is not None:
        floor = AtLeast()
        rows.append(Row(result.cell, "tutorial_floor", baseline.tutorial_floor,
                        values["test_accuracy"], floor.allowed(baseline.tutorial_floor, 0.0),
                        not floor.fails(values["test_accuracy"], baseline.tutorial_floor, 0.0)))
    nf = result.nonfinite
    now = "finite" if nf is None else (
        # Counted, not listed: the table must stay readable; the caller lists the names.
        f"non-finite at step {nf.step}" + (f" ({len(nf.variables)} gradients)" if nf.variables else "")
    )
    rows.append(Row(result.cell, "finite", "finite", now, "finite", nf is None))
    return rows


def format_table(rows):
    """An aligned text table of ``rows``: the failure message a CI log shows."""
    header = ("cell", "metric", "baseline", "now", "allowed", "status")
    lines = [header] + [
        (r.cell, r.metric, _cell_text(r.baseline), _cell_text(r.now), r.allowed, r.status)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = [" | ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(text)


# --- numerics outcomes --------------------------------------------------------------


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
    data = _read_json(path, "numerics outcomes")
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path} is not a valid numerics file: expected {{case: outcome}}.")
    return data


def save_numerics(folder, outcomes):
    """Merges ``outcomes`` into ``<folder>/numerics.json`` atomically, keeping other cases."""
    merged = {**load_numerics(folder), **outcomes}
    path = Path(folder) / NUMERICS_FILE
    write_json_atomic(path, merged)
    return path


# --- helpers ------------------------------------------------------------------------


def _as_config_dict(config):
    return config.to_dict() if isinstance(config, TrainConfig) else dict(config)


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"Cannot read {what} file {path}: {err}") from err


def _show(value):
    return "(absent)" if not isinstance(value, (str, int, float, bool, list, dict, type(None))) \
        else json.dumps(value)


def _cell_text(value):
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _float(value):
    return math.nan if value is None else float(value)


# --- margin measurements ------------------------------------------------------------


def save_margins(folder, measured):
    """Merges ``{cell: {metric: {"margin", "source", "values"}}}`` into
    ``<folder>/margins.json`` atomically, keeping the cells not measured now."""
    path = Path(folder) / MARGINS_FILE
    merged = {**(load_margins(folder) if path.is_file() else {}), **measured}
    write_json_atomic(path, merged)
    return path


def load_margins(folder):
    """The stored margin measurements; a missing file says how to make it."""
    path = Path(folder) / MARGINS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"No margin measurements at {path}: run `python -m rnn_models margins` first."
        )
    return _read_json(path, "margins")
