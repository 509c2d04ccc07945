"""``RunResult``: what one training run produced, and its JSON form.

A result records what produced it (config, cell, kernel path, device, library versions,
seed) beside its numbers, so a baseline can refuse to compare against another setup.
Non-finite numbers (a NaN loss) are stored as JSON ``null``.
"""

import dataclasses
import json
import math
from pathlib import Path

from rnn_models.config import TrainConfig
from rnn_models.records.atomic import write_json_atomic

SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class TrainWindow:
    """One logging window of training steps (250 by default, as the tutorial printed)."""

    epoch: int
    step: int  # global step at the window's end, 1-based
    loss: float  # mean train loss over the window
    accuracy_mean: float  # mean batch accuracy
    accuracy_min: float  # minimum batch accuracy (the tutorial's printed figure)
    sec_per_iter: float  # median wall time of one compiled step, loss read back


@dataclasses.dataclass(frozen=True)
class TestEpoch:
    """The test pass after one epoch, over every full test batch."""

    epoch: int
    step: int
    loss: float
    accuracy_mean: float
    accuracy_min: float
    sec_per_iter: float


@dataclasses.dataclass(frozen=True)
class NonFinite:
    """Where a run first met a non-finite loss or gradient, and which gradients."""

    epoch: int
    step: int
    loss_finite: bool
    variables: tuple[str, ...]  # paths of the variables whose gradient was not finite


@dataclasses.dataclass(frozen=True)
class RunResult:
    config: TrainConfig
    device: str
    kernel_path: str
    versions: dict
    train_curve: tuple[TrainWindow, ...]
    test_curve: tuple[TestEpoch, ...]
    train_sec_per_iter: float  # median over every train step of the run
    test_sec_per_iter: float
    wall_time_s: float  # the whole run: data pipeline, tracing, training and tests
    input_wait_s: float  # time spent getting the next batch, train and test
    steps: int
    max_grad_norm: float  # largest global gradient norm seen (before clipping)
    nonfinite: NonFinite | None = None
    # The process's peak resident memory when the run ended (ru_maxrss): the run's own
    # peak in a fresh process, a high-water mark over everything before it otherwise.
    peak_rss_bytes: int | None = None
    interrupted: bool = False  # stopped by Ctrl-C: the curves are those up to that step
    fingerprint: dict | None = None  # the machine it ran on (rnn_models.machine.environment)

    @property
    def cell(self):
        return self.config.cell

    @property
    def final_train_loss(self):
        return self.train_curve[-1].loss if self.train_curve else math.nan

    @property
    def final_test(self):
        """The last epoch's test pass; None when the run stopped before any."""
        return self.test_curve[-1] if self.test_curve else None

    @property
    def finite(self):
        return self.nonfinite is None

    def to_dict(self):
        data = dataclasses.asdict(self)
        data["config"] = self.config.to_dict()
        data["schema_version"] = SCHEMA_VERSION
        return nan_to_none(data)

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        version = data.pop("schema_version", None)
        if version != SCHEMA_VERSION:
            raise ValueError(f"RunResult schema_version {version!r} is not {SCHEMA_VERSION}.")
        data["config"] = TrainConfig.from_dict(data["config"])
        data["train_curve"] = tuple(TrainWindow(**none_to_nan(w)) for w in data["train_curve"])
        data["test_curve"] = tuple(TestEpoch(**none_to_nan(e)) for e in data["test_curve"])
        if data.get("nonfinite") is not None:
            nf = data["nonfinite"]
            data["nonfinite"] = NonFinite(**{**nf, "variables": tuple(nf["variables"])})
        for key in ("train_sec_per_iter", "test_sec_per_iter", "max_grad_norm"):
            data[key] = math.nan if data[key] is None else data[key]
        return cls(**data)

    def save(self, path):
        """Writes the JSON atomically: a crash never leaves a half-written result."""
        write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"Cannot read run result {path}: not a JSON text file "
                             "(compressed or binary?)") from None
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"Cannot read run result {path}: {err}") from err
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{path} is not a valid run result: {err}") from err


def nan_to_none(obj):
    """``obj`` with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nan_to_none(v) for v in obj]
    return obj


def none_to_nan(d):
    """The inverse of ``nan_to_none`` for one flat record."""
    return {k: math.nan if v is None else v for k, v in d.items()}
