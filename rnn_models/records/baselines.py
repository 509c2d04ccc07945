"""Stored per-cell accuracy baselines (seed distributions), and the check that refuses a run
of another config. (One seed's record and the rule for a seed to count: ``records.seeds``; the
numerics cases' outcomes: ``records.numerics_outcomes``.)

A baseline ``<folder>/<cell>.json`` is one cell's suite run over several seeds: each seed's
test accuracy per epoch, loss curve, versions and machine fingerprint, plus the seed-0
run's full curves, the reference an unchanged run reproduces bit for bit. It records what
produced it (config, versions, device), so a run of another config is refused rather than
compared. Plain library code: no pytest, no TensorFlow. Every write is atomic, and an
update of several files is one ``rnn_models.records.atomic.Transaction``.
"""

import dataclasses
import json
from pathlib import Path

from rnn_models.config import TrainConfig
from rnn_models.records.results import TestEpoch, TrainWindow, nan_to_none, none_to_nan
from rnn_models.records.seeds import SeedRecord, seed_problems
from rnn_models.registry import REGISTRY

SCHEMA_VERSION = 3  # 3: seed-0 references keyed by the numerics they were trained under
BASELINE_DIR = Path("baselines")  # the default folder, relative to the working directory
REFERENCE_SEED = 0
MIN_SEEDS = 3  # the fewest seeds a distribution can have; the suite records BASELINE_SEEDS
# Config fields that do not change a run's numbers, or that a distribution varies.
IGNORED_CONFIG_FIELDS = frozenset({"log_every", "seed"})


class BaselineMismatchError(ValueError):
    """A baseline was made with a config that changes the numbers."""


class MissingBaselineError(FileNotFoundError):
    """No baseline file for a cell yet."""


@dataclasses.dataclass(frozen=True)
class CellBaseline:
    cell: str
    config: TrainConfig  # the reference (seed 0) run's
    versions: dict
    device: str
    kernel_path: str
    tutorial_floor: float | None  # the tutorial's printed min-batch test accuracy
    train_curve: tuple[TrainWindow, ...]  # the reference run's full curves
    test_curve: tuple[TestEpoch, ...]
    seeds: tuple[SeedRecord, ...]
    # Seed-0 runs of the same code under other numerics (another CPU kind that the pin cannot
    # make agree, another TensorFlow): {numerics key: (train_curve, test_curve)}.
    other_references: dict = dataclasses.field(default_factory=dict)

    @property
    def fingerprint(self):
        return self.seed_record(REFERENCE_SEED).fingerprint

    @property
    def numerics(self):
        """The numerics key the seeds were recorded under (None before keys were recorded)."""
        return (self.fingerprint or {}).get("numerics")

    def references(self):
        """``{numerics key: (train_curve, test_curve)}``: every stored seed-0 run."""
        return {self.numerics: (self.train_curve, self.test_curve), **self.other_references}

    def with_reference(self, result):
        """This baseline with ``result`` (a seed-0 run under other numerics) added to its
        references; a key already stored is refused, so a reference is never replaced."""
        key = (result.fingerprint or {}).get("numerics")
        if result.config.seed != REFERENCE_SEED or not key:
            raise ValueError(f"a reference is a seed-{REFERENCE_SEED} run that records its numerics key")
        check_config(self, result.config)
        if key in self.references():
            raise ValueError(f"{self.cell}: a seed-0 reference for numerics {key} is already stored")
        extra = {**self.other_references, key: (tuple(result.train_curve), tuple(result.test_curve))}
        return dataclasses.replace(self, other_references=extra)

    def with_seeds(self, results):
        """This baseline with more seeds (``results``: runs of its config with other seeds); a
        seed stored already, another config, or a run that cannot count as a seed is refused."""
        stored = {r.seed for r in self.seeds}
        problems = []
        for run in results:
            if run.config.seed in stored:
                problems.append(f"seed {run.config.seed} is stored already")
            diffs = config_differences(self.config, run.config)
            if diffs:
                problems.append(f"seed {run.config.seed} differs in {', '.join(d[0] for d in diffs)}")
            problems += seed_problems(run, self.tutorial_floor)
            problems += SeedRecord.from_result(run).problems(self.config.epochs)
        if problems:
            raise ValueError(f"cannot add seeds to the {self.cell!r} baseline: {'; '.join(problems)}")
        added = tuple(SeedRecord.from_result(r) for r in results)
        return dataclasses.replace(self, seeds=tuple(sorted(self.seeds + added, key=lambda r: r.seed)))

    def seed_record(self, seed):
        return next(r for r in self.seeds if r.seed == seed)

    @classmethod
    def from_results(cls, results, tutorial_floor=None):
        """A baseline from one cell's runs over seeds (seed 0 among them); every run must
        be of the same config but the seed, finite, whole, and above the tutorial floor."""
        results = sorted(results, key=lambda r: r.config.seed)
        if len(results) < MIN_SEEDS:
            raise ValueError(f"a baseline needs at least {MIN_SEEDS} seeded runs, got {len(results)}")
        cells = {r.cell for r in results}
        if len(cells) != 1:
            raise ValueError(f"a baseline is one cell's runs, got {sorted(cells)}")
        reference = next((r for r in results if r.config.seed == REFERENCE_SEED), None)
        if reference is None:
            raise ValueError(f"{results[0].cell}: a baseline needs the seed-{REFERENCE_SEED} run")
        seeds = [r.config.seed for r in results]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"{reference.cell}: seeds repeat: {seeds}")
        problems = []
        for run in results:
            diffs = config_differences(reference.config, run.config)
            if diffs:
                problems.append(f"seed {run.config.seed} differs in {', '.join(d[0] for d in diffs)}")
            problems += seed_problems(run, tutorial_floor)
            problems += SeedRecord.from_result(run).problems(reference.config.epochs)
        if problems:
            raise ValueError(f"cannot make a {reference.cell!r} baseline: {'; '.join(problems)}")
        return cls(reference.cell, reference.config, dict(reference.versions), reference.device,
                   reference.kernel_path, None if tutorial_floor is None else float(tutorial_floor),
                   tuple(reference.train_curve), tuple(reference.test_curve),
                   tuple(SeedRecord.from_result(r) for r in results))

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
            "tutorial_floor": self.tutorial_floor,
            "reference_seed": REFERENCE_SEED,
            "curves": _curves_dict(self.train_curve, self.test_curve),
            "seeds": [dataclasses.asdict(r) for r in self.seeds],
            "other_references": {key: _curves_dict(train, test)
                                 for key, (train, test) in self.other_references.items()},
        })

    @classmethod
    def from_dict(cls, data):
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} is not {SCHEMA_VERSION} (record the "
                             "baselines again with pytest benchmarks --update-baselines)")
        curves = data["curves"]
        other = {key: _curves(value) for key, value in data.get("other_references", {}).items()}
        records = tuple(SeedRecord(**{**r, **{k: tuple(r[k]) for k in ("test_accuracy", "test_loss",
                                                                         "train_loss")}})
                        for r in data["seeds"])
        baseline = cls(
            cell=data["cell"],
            config=TrainConfig.from_dict(data["config"]),
            versions=dict(data["versions"]),
            device=data["device"],
            kernel_path=data["kernel_path"],
            tutorial_floor=data["tutorial_floor"],
            train_curve=_curves(curves)[0],
            test_curve=_curves(curves)[1],
            seeds=records,
            other_references=other,
        )
        problems = [p for r in records for p in r.problems(baseline.config.epochs)]
        seeds = [r.seed for r in records]
        if REFERENCE_SEED not in seeds or len(set(seeds)) != len(seeds) or len(seeds) < MIN_SEEDS:
            problems.append(f"seeds {seeds} must be at least {MIN_SEEDS} distinct ones including "
                            f"{REFERENCE_SEED}")
        elif tuple(e.accuracy_mean for e in baseline.test_curve) != baseline.seed_record(REFERENCE_SEED).test_accuracy:
            problems.append("the reference curves are not the seed-0 record's")
        if problems:
            raise ValueError("; ".join(problems))
        return baseline

    def save(self, folder):
        """Writes ``<folder>/<cell>.json`` atomically; returns its path."""
        from rnn_models.records.atomic import write_json_atomic

        path = self.path(folder, self.cell)
        write_json_atomic(path, self.to_dict())
        return path

    @classmethod
    def load(cls, folder, cell):
        """Reads ``<folder>/<cell>.json``; a missing or invalid file is an error naming it."""
        path = cls.path(folder, cell)
        if not path.is_file():
            raise MissingBaselineError(
                f"No baseline for cell {cell!r}: {path} does not exist. Record one with "
                "`pytest benchmarks --update-baselines`."
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
    (the folder also holds numerics, calibration and speed files)."""
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


def check_config(baseline, config, path=None):
    """Raises BaselineMismatchError when ``config`` differs from the baseline's config."""
    diffs = config_differences(baseline.config, config)
    if diffs:
        fields = "; ".join(f"{name}: baseline {_show(b)}, now {_show(n)}" for name, b, n in diffs)
        where = path or f"the {baseline.cell!r} baseline"
        raise BaselineMismatchError(
            f"{where} was made with a different config ({fields}); refusing to compare. Run "
            "with the baseline's config, or record a new baseline with --update-baselines."
        )


# --- helpers ------------------------------------------------------------------------


def _curves_dict(train_curve, test_curve):
    return {"train_curve": [dataclasses.asdict(w) for w in train_curve],
            "test_curve": [dataclasses.asdict(e) for e in test_curve]}


def _curves(data):
    return (tuple(TrainWindow(**none_to_nan(w)) for w in data["train_curve"]),
            tuple(TestEpoch(**none_to_nan(e)) for e in data["test_curve"]))


def _as_config_dict(config):
    return config.to_dict() if isinstance(config, TrainConfig) else dict(config)


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"Cannot read {what} file {path}: {err}") from err


def _show(value):
    return "(absent)" if not isinstance(value, (str, int, float, bool, list, dict, type(None))) \
        else json.dumps(value)
