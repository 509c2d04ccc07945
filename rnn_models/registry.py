"""One registry of recurrent cells: everything else (model, training, tests, benchmarks,
baselines, plots) iterates it, so adding a cell is one entry here plus its tests."""

import dataclasses
from typing import Callable

import keras

from rnn_models import cells

GENERIC_LOOP = "generic loop"  # keras.layers.RNN's while loop over the cell
UNROLLED_LOOP = "generic loop, unrolled"  # the same cell ops, written once per time step
# Longer sequences keep the while loop by default: unrolling the 784-step pixel tasks
# would trace about 28x the tutorial's graph.
MAX_UNROLLED_STEPS = 64
FUSED_OR_CUDNN = "fused (cuDNN when a GPU is present)"


@dataclasses.dataclass(frozen=True)
class CellSpec:
    """A registry entry.

    ``make_cell(units, **kwargs)`` builds the Keras cell; ``make_layer`` (fused Keras
    layers only) builds the whole recurrent layer, which may pick a fused/cuDNN kernel.
    ``tf1_name`` is the ``tf.contrib.rnn`` class it reproduces (None for Keras' own).
    ``tutorial_accuracy`` is the tutorial's printed last min-batch test accuracy, for the
    cells it compared (the suite's accuracy matrix); ``suite_kwargs`` are the cell
    arguments the suite trains it with. ``prefers_xla`` and ``prefers_unroll`` are the
    measured defaults of ``TrainConfig.jit_compile`` and ``TrainConfig.unroll``.
    """

    name: str
    make_cell: Callable[..., keras.layers.Layer]
    tf1_name: str | None
    kernel_path: str = GENERIC_LOOP
    make_layer: Callable[..., keras.layers.Layer] | None = None
    tutorial_accuracy: float | None = None
    suite_kwargs: dict = dataclasses.field(default_factory=dict)
    prefers_xla: bool = False
    prefers_unroll: bool = True

    @property
    def tutorial(self):
        return self.tutorial_accuracy is not None

    @property
    def faithful(self):
        """True for the TF1 reproductions, which load TF1 checkpoints."""
        return self.tf1_name is not None


REGISTRY = {
    spec.name: spec
    for spec in (
        # tutorial_accuracy: the last "[tst] ... accu" the tutorial printed after 10 epochs.
        CellSpec("basic_rnn", cells.BasicRNNCell, "BasicRNNCell", tutorial_accuracy=0.844),
        CellSpec("basic_lstm", cells.BasicLSTMCell, "BasicLSTMCell", tutorial_accuracy=0.875),
        CellSpec("lstm", cells.LSTMCell, "LSTMCell", tutorial_accuracy=0.945),
        CellSpec("gru", cells.GRUCell, "GRUCell", tutorial_accuracy=0.930),
        # The tutorial's run went NaN (0.055). TF1's epsilon 1e-12 gives non-finite
        # gradients on MNIST's blank rows. The suite trains it with Keras' epsilon 1e-3 AND
        # the tutorial's gain 0.85 / shift 0.15: measured over 20 seeds, the first step's
        # gradient norm was median 7e18 and overflowed for 3 seeds with 1e-3 alone, but
        # median 3.7, max 18.7 with both (baselines/numerics.json keeps the sweep).
        # XLA: 16.4 vs 27.4 ms per train step, medians of 40 alternating rounds at the
        # tutorial's shape on 2 CPU cores; the other cells were slower under XLA (lstm
        # unrolled 11.6 vs 9.2 ms). Not unrolled: unrolled under XLA its step took 12.9
        # against 15.4 ms, but its first step compiled for 21.5 s instead of 6.4 s and
        # lifted the process's peak memory from 1.19 to 1.45 GB, which put the matrix
        # over its 1.5 GB budget (1.61 GB measured).
        CellSpec("ln_basic_lstm", cells.LayerNormBasicLSTMCell, "LayerNormBasicLSTMCell",
                 tutorial_accuracy=0.055, prefers_xla=True, prefers_unroll=False,
                 suite_kwargs={"epsilon": 1e-3, "norm_gain": 0.85, "norm_shift": 0.15}),
        # Keras' own layers, for speed comparison only: a different parametrisation.
        CellSpec("keras_lstm", keras.layers.LSTMCell, None, FUSED_OR_CUDNN,
                 make_layer=keras.layers.LSTM),
        CellSpec("keras_gru", lambda units, **kw: keras.layers.GRUCell(units, reset_after=True, **kw),
                 None, FUSED_OR_CUDNN,
                 make_layer=lambda units, **kw: keras.layers.GRU(units, reset_after=True, **kw)),
        CellSpec("keras_simple_rnn", keras.layers.SimpleRNNCell, None, FUSED_OR_CUDNN,
                 make_layer=keras.layers.SimpleRNN),
    )
}


def cell_names(tutorial_only=False):
    """Registered names, in registry order."""
    return [name for name, spec in REGISTRY.items() if spec.tutorial or not tutorial_only]


def get_spec(name):
    """The registry entry for ``name``; an unknown name lists the valid ones."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown cell {name!r}. Valid cells: {', '.join(REGISTRY)}."
        ) from None


def get_cell(name, units, **kwargs):
    """Builds the cell registered as ``name`` with ``units`` and its TF1 keyword arguments."""
    return get_spec(name).make_cell(units, **kwargs)


def get_rnn_layer(name, units, unroll=False, layer_name="rnn", **kwargs):
    """The recurrent layer over the whole sequence, returning the last valid step's output.

    Fused entries use their own Keras layer (so cuDNN can be picked on a GPU; ``unroll``
    does not apply). The others wrap their cell in ``keras.layers.RNN``, ``unroll``-ed
    or as a ``while`` loop: the same ops either way (see ``TrainConfig.unroll``).
    """
    spec = get_spec(name)
    if spec.make_layer is not None:
        return spec.make_layer(units, name=layer_name, **kwargs)
    if spec.faithful:
        # Named as TF1 scoped it, so variable paths read ``rnn/lstm_cell/kernel`` (no
        # ``_1`` suffix from Keras' auto-naming) and match the checkpoint names.
        kwargs = {"name": spec.make_cell.tf1_scope.rsplit("/", 1)[-1], **kwargs}
    cell = spec.make_cell(units, **kwargs)
    return keras.layers.RNN(cell, unroll=unroll, name=layer_name)
