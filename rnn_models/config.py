"""One frozen config for a training run, with presets derived from the tutorial's."""

import dataclasses
from typing import Any

from rnn_models.data.sequences import task_shape
from rnn_models.registry import MAX_UNROLLED_STEPS, get_cell, get_spec


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run's numbers. Defaults are the tutorial's."""

    cell: str = "lstm"
    cell_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    units: int = 31  # NUM_HIDDEN_UNITS, as the tutorial printed it
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam, as the tutorial
    epochs: int = 10
    clip_norm: float | None = None  # the tutorial's optional global-norm clip was 5.0
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
        for name in ("units", "batch_size", "epochs", "log_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected a positive integer, "
                    f"got {value!r}."
                )
        for name in ("steps_per_epoch", "test_steps"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(
                    f"Received an invalid value for `{name}`, expected None or a positive "
                    f"integer, got {value!r}."
                )
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be positive, got {self.learning_rate!r}.")
        if self.clip_norm is not None and not self.clip_norm > 0:
            raise ValueError(f"`clip_norm` must be None or positive, got {self.clip_norm!r}.")
        # Fail at configuration, not minutes later after loading data: an unknown cell or
        # a bad cell argument is named here.
        get_cell(self.cell, self.units, **self.cell_kwargs)

    @property
    def use_xla(self):
        """``jit_compile``, or the registry's measured choice for the cell when None."""
        return get_spec(self.cell).prefers_xla if self.jit_compile is None else self.jit_compile

    @property
    def use_unroll(self):
        """``unroll``, or, when None, the registry's choice for tasks of at most
        MAX_UNROLLED_STEPS steps.

        Unrolling writes the same cell ops once per step instead of a ``while`` loop.
        Measured at the tutorial's shape, train step medians over 40 alternating rounds in
        one process: lstm 10.6 -> 9.0 ms, gru 9.9 -> 8.7, basic_rnn 5.0 -> 4.7. It costs
        tracing time and memory (the registry's note on ln_basic_lstm).
        """
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


TUTORIAL = TrainConfig()

PRESETS = {
    "tutorial": TUTORIAL,
    # The tutorial's guarded setup: global-norm clipping at 5.0.
    "tutorial_clipped": TUTORIAL.replace(clip_norm=5.0),
    # A few steps on a slice, for smoke tests of the whole pipeline.
    "smoke": TUTORIAL.replace(epochs=1, steps_per_epoch=20, test_steps=4, log_every=10),
}


def preset(name, **changes):
    """A named preset, with ``changes`` applied; an unknown name lists the valid ones."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Valid presets: {', '.join(PRESETS)}.")
    return PRESETS[name].replace(**changes)
