"""One frozen config for a training run, with presets derived from the tutorial's."""

import dataclasses
import math
from typing import Any

from rnn_models.data.sequences import SPLITS, TASKS, task_shape
from rnn_models.registry import MAX_UNROLLED_STEPS, get_spec

# The two compiled steps a config yields (rnn_models.training.steps): the train step and the test
# step, timed as "inference".
PHASES = ("train", "inference")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers. Defaults are the tutorial's."""

    cell: str = "lstm"
    cell_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    units: int = 31  # NUM_HIDDEN_UNITS, as the tutorial printed it
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, as the tutorial
    epochs: int = 10
    clip_norm: float | None = None  # the tutorial's clip was optional (TUTORIAL_CLIP_NORM)
    check_numerics: bool = False  # stop at the first non-finite gradient, naming it
    seed: int = 0
    task: str = "rows"  # rows: 28 steps x 28 pixels, as the tutorial
    split: str = "tf1"  # TF1's read_data_sets split: 55,000 / 5,000 / 10,000
    standardize: bool = False  # the tutorial scaled pixels to [0, 1]
    log_every: int = 250  # the tutorial printed every 250 steps
    jit_compile: bool | None = None  # XLA for the steps; None: the registry's choice
    unroll: bool | None = None  # unrolled time loop; None: the registry's choice, short tasks
    steps_per_epoch: int | None = None  # None: every full batch (429 for the TF1 split)
    test_steps: int | None = None  # None: every full test batch (78)

    def __post_init__(self):
        # Every field is checked here, before any data is loaded or layer built, and
        # without TensorFlow: a stored result's config is validated the same way.
        for name, check in _FIELD_CHECKS.items():
            problem = check(getattr(self, name))
            if problem:
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected {problem}, "
                    f"got {getattr(self, name)!r}.")
        spec = get_spec(self.cell)
        if not isinstance(self.cell_kwargs, dict) or not all(isinstance(k, str) for k in self.cell_kwargs):
            raise ValueError(f"`cell_kwargs` must be a dict of argument names, got {self.cell_kwargs!r}.")
        spec.check_arguments(self.cell_kwargs)

    @property
    def use_xla(self):
        """``jit_compile``, or the registry's measured choice for the cell when None."""
        return get_spec(self.cell).prefers_xla if self.jit_compile is None else self.jit_compile

    @property
    def use_unroll(self):
        """``unroll``, or, when None, the registry's choice for tasks of at most
        MAX_UNROLLED_STEPS steps: the same cell ops written once per step instead of a
        ``while`` loop, faster per step at the cost of tracing time and memory
        (docs/decisions.md)."""
        if self.unroll is not None:
            return self.unroll
        return get_spec(self.cell).prefers_unroll and task_shape(self.task)[0] <= MAX_UNROLLED_STEPS

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise ValueError(f"Unknown TrainConfig fields: {', '.join(unknown)}.")
        return cls(**data)


def _positive_int(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return None if ok else "a positive integer"


def _optional_positive_int(value):
    return None if value is None or _positive_int(value) is None else "None or a positive integer"


def _positive_number(value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and value > 0
    return None if ok else "a finite positive number"


def _optional_positive_number(value):
    if value is None or _positive_number(value) is None:
        return None
    return "None or a finite positive number (None: no clipping)"


def _seed(value):
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else "an integer >= 0"


def _flag(value):
    return None if isinstance(value, bool) else "True or False"


def _optional_flag(value):
    return None if value is None or isinstance(value, bool) else "None, True or False"


def _one_of(choices):
    return lambda value: None if value in choices else f"one of {', '.join(choices)}"


def _cell_name(value):
    return None if isinstance(value, str) else "a registered cell name"


_FIELD_CHECKS = {
    "cell": _cell_name,
    "units": _positive_int,
    "batch_size": _positive_int,
    "learning_rate": _positive_number,
    "epochs": _positive_int,
    "clip_norm": _optional_positive_number,
    "check_numerics": _flag,
    "seed": _seed,
    "task": _one_of(TASKS),
    "split": _one_of(SPLITS),
    "standardize": _flag,
    "log_every": _positive_int,
    "jit_compile": _optional_flag,
    "unroll": _optional_flag,
    "steps_per_epoch": _optional_positive_int,
    "test_steps": _optional_positive_int,
}

TUTORIAL = TrainConfig()
TUTORIAL_CLIP_NORM = 5.0  # the tutorial's optional global-norm clip, its guard against NaN

PRESETS = {
    "tutorial": TUTORIAL,
    # The tutorial's guarded setup: its global-norm clip on.
    "tutorial_clipped": TUTORIAL.replace(clip_norm=TUTORIAL_CLIP_NORM),
    # A few steps on a slice, for smoke tests of the whole pipeline.
    "smoke": TUTORIAL.replace(epochs=1, steps_per_epoch=20, test_steps=4, log_every=10),
}


def preset(name, **changes):
    """A named preset, with ``changes`` applied; an unknown name lists the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Valid presets: {', '.join(PRESETS)}.")
    return PRESETS[name].replace(**changes)
