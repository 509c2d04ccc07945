"""One registry of recurrent cells: everything else (model, training, tests, benchmarks,
baselines, plots) iterates it, so adding a cell is one entry here plus its tests.

The registry itself imports no TensorFlow: a factory is named by its import path and
imported on first use, and each entry declares its constructor arguments, so a config
can be checked (and a stored result read) without building, or even importing, a layer.
"""

import dataclasses
import importlib
import math

GENERIC_LOOP = "generic loop"  # keras.layers.RNN's while loop over the cell
UNROLLED_LOOP = "generic loop, unrolled"  # the same cell ops, written once per time step
# Longer sequences keep the while loop by default: unrolling the 784-step pixel tasks
# would trace about 28x the tutorial's graph.
MAX_UNROLLED_STEPS = 64
FUSED_OR_CUDNN = "fused (cuDNN when a GPU is present)"  # Keras 3's LSTM and GRU only


# --- declared constructor arguments -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Arg:
    """One constructor argument: its kind (``float``, ``int``, ``bool`` or ``str``) and
    whether None is accepted. Ranges stay the cell's own check, at construction."""

    kind: str
    optional: bool = False

    _TYPES = {"float": (int, float), "int": (int,), "bool": (bool,), "str": (str,)}
    _NAMES = {"float": "a number", "int": "an integer", "bool": "True or False", "str": "a string"}

    def problem(self, value):
        """Why ``value`` does not fit, or None when it does."""
        ok = (value is None and self.optional) or (
            isinstance(value, self._TYPES[self.kind])
            and not (self.kind in ("float", "int") and isinstance(value, bool)))
        if not ok:
            return f"expected {'None or ' if self.optional else ''}{self._NAMES[self.kind]}, got {value!r}"
        if self.kind == "float" and value is not None and not math.isfinite(value):
            return f"expected a finite number, got {value!r}"
        return None


FLOAT, INT, BOOL, STR = Arg("float"), Arg("int"), Arg("bool"), Arg("str")


# --- entries --------------------------------------------------------------------------


def _resolve(path):
    """``"package.module:attr"`` -> the object, imported now."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclasses.dataclass(frozen=True)
class CellSpec:
    """A registry entry.

    ``cell`` names the Keras cell class or factory (``module:attr``), called as
    ``make_cell(units, **kwargs)``; ``layer`` (fused Keras layers only) the whole
    recurrent layer, which may pick a fused/cuDNN kernel. ``arguments`` declares the
    cell's keyword arguments besides ``units`` (a unit test holds them to the real
    signature); None leaves them to the layer itself. ``tf1_name`` is the
    ``tf.contrib.rnn`` class it reproduces (None for Keras' own). ``tutorial_accuracy``
    is the tutorial's printed last min-batch test accuracy, for the cells it compared
    (the suite's accuracy matrix); ``suite_kwargs`` are the cell arguments the suite
    trains it with. ``prefers_xla`` and ``prefers_unroll`` are the measured defaults of
    ``TrainConfig.jit_compile`` and ``TrainConfig.unroll`` (docs/decisions.md).
    ``torch_equivalent`` names the PyTorch model timed beside it (rnn_models.speed).
    ``baseline_seeds`` is how many seeds its stored distribution has, and ``accuracy_policy``
    what the accuracy gate changes in ``rnn_models.regression.accuracy.Policy`` for it: a
    cell whose seeds spread wider needs more of them and a wider target (docs/decisions.md).
    ``tutorial_sec_per_iter`` is the tutorial's printed (train, test) seconds per iteration on
    its GPU, the anchors of docs/gpu.md.
    """

    name: str
    cell: str
    tf1_name: str | None
    arguments: dict[str, Arg] | None = None
    kernel_path: str = GENERIC_LOOP
    layer: str | None = None
    tutorial_accuracy: float | None = None
    suite_kwargs: dict = dataclasses.field(default_factory=dict)
    prefers_xla: bool = False
    prefers_unroll: bool = True
    torch_equivalent: str | None = None
    baseline_seeds: int = 10
    accuracy_policy: dict = dataclasses.field(default_factory=dict)
    tutorial_sec_per_iter: tuple[float, float] | None = None

    @property
    def tutorial(self):
        return self.tutorial_accuracy is not None

    @property
    def faithful(self):
        """True for the TF1 reproductions, which load TF1 checkpoints."""
        return self.tf1_name is not None

    @property
    def make_cell(self):
        return _resolve(self.cell)

    @property
    def make_layer(self):
        return None if self.layer is None else _resolve(self.layer)

    def check_arguments(self, kwargs):
        """Raises a ValueError naming the first keyword argument the cell does not take,
        or whose value is of the wrong kind; builds nothing."""
        if self.arguments is None:
            return
        for key, value in kwargs.items():
            if key not in self.arguments:
                raise ValueError(
                    f"Unknown argument `{key}` for cell {self.name!r}; it takes: "
                    f"{', '.join(self.arguments) or 'no arguments besides units'}.")
            problem = self.arguments[key].problem(value)
            if problem:
                raise ValueError(
                    f"Received an invalid value for argument `{key}` of cell {self.name!r}: {problem}.")


_ACTIVATION = {"activation": STR}
_INITIALIZER = Arg("str", optional=True)

REGISTRY = {
    spec.name: spec
    for spec in (
        # tutorial_accuracy: the last "[tst] ... accu" the tutorial printed after 10 epochs;
        # tutorial_sec_per_iter: its printed train and test sec/iter (its machine: docs/gpu.md).
        # Its seeds spread several times wider than the gated LSTMs', and a real change
        # decorrelates them (docs/decisions.md): 30 of them, unpaired, the widest target, and
        # its steadiest statistic, the last epoch (docs/accuracy_gate.md).
        CellSpec("basic_rnn", "rnn_models.cells:BasicRNNCell", "BasicRNNCell",
                 arguments=_ACTIVATION, tutorial_accuracy=0.844, torch_equivalent="nn.RNN",
                 tutorial_sec_per_iter=(0.0120, 0.0047),
                 baseline_seeds=100,
                 accuracy_policy={"target_drop": 0.01, "last_epochs": 1, "looks": (10, 25, 50),
                                 "paired": False}),
        CellSpec("basic_lstm", "rnn_models.cells:BasicLSTMCell", "BasicLSTMCell",
                 arguments={"forget_bias": FLOAT, **_ACTIVATION}, tutorial_accuracy=0.875,
                 torch_equivalent="nn.LSTM", tutorial_sec_per_iter=(0.0117, 0.0045)),
        CellSpec("lstm", "rnn_models.cells:LSTMCell", "LSTMCell",
                 arguments={"use_peepholes": BOOL, "cell_clip": Arg("float", optional=True),
                            "num_proj": Arg("int", optional=True),
                            "proj_clip": Arg("float", optional=True), "forget_bias": FLOAT,
                            **_ACTIVATION, "initializer": _INITIALIZER},
                 tutorial_accuracy=0.945, torch_equivalent="nn.LSTM",
                 tutorial_sec_per_iter=(0.0257, 0.0067)),
        CellSpec("gru", "rnn_models.cells:GRUCell", "GRUCell",
                 arguments={**_ACTIVATION, "kernel_initializer": _INITIALIZER,
                            "bias_initializer": _INITIALIZER},
                 tutorial_accuracy=0.930, torch_equivalent="nn.GRU",
                 tutorial_sec_per_iter=(0.0247, 0.0069)),
        # The tutorial's run went NaN (0.055): TF1's epsilon 1e-12 gives non-finite
        # gradients on MNIST's blank rows, so the suite trains it with Keras' epsilon
        # and the tutorial's gain/shift remedy. XLA and the while loop are measured
        # choices; both are in docs/decisions.md.
        CellSpec("ln_basic_lstm", "rnn_models.cells:LayerNormBasicLSTMCell",
                 "LayerNormBasicLSTMCell",
                 arguments={"forget_bias": FLOAT, **_ACTIVATION, "layer_norm": BOOL,
                            "norm_gain": FLOAT, "norm_shift": FLOAT, "dropout_keep_prob": FLOAT,
                            "dropout_prob_seed": Arg("int", optional=True), "epsilon": FLOAT},
                 tutorial_accuracy=0.055, prefers_xla=True, prefers_unroll=False,
                 suite_kwargs={"epsilon": 1e-3, "norm_gain": 0.85, "norm_shift": 0.15},
                 torch_equivalent="layer-norm LSTM loop", tutorial_sec_per_iter=(0.1130, 0.0347)),
        # Keras' own layers, for speed comparison only: a different parametrisation.
        # (Keras 3's GRU defaults to reset_after=True, the cuDNN-compatible form.) Keras 3's
        # SimpleRNN has no cuDNN kernel: it runs keras.layers.RNN's while loop on any device.
        CellSpec("keras_lstm", "keras.layers:LSTMCell", None, kernel_path=FUSED_OR_CUDNN,
                 layer="keras.layers:LSTM"),
        CellSpec("keras_gru", "keras.layers:GRUCell", None, kernel_path=FUSED_OR_CUDNN,
                 layer="keras.layers:GRU"),
        CellSpec("keras_simple_rnn", "keras.layers:SimpleRNNCell", None,
                 kernel_path=GENERIC_LOOP, layer="keras.layers:SimpleRNN", prefers_unroll=False),
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


def parse_cell_list(values):
    """Cell names from ``["a,b", "c"]`` or ``"a,b"`` (commas, spaces, or both); an unknown
    name is a ValueError listing the valid ones. Order and duplicates are cleaned up."""
    if isinstance(values, str):
        values = [values]
    names = [n for value in values for n in value.replace(",", " ").split()]
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"Unknown cell(s) {', '.join(unknown)}. Valid cells: {', '.join(REGISTRY)}.")
    if not names:
        raise ValueError(f"No cell named. Valid cells: {', '.join(REGISTRY)}.")
    return list(dict.fromkeys(names))


def get_cell(name, units, **kwargs):
    """Builds the cell registered as ``name`` with ``units`` and its TF1 keyword arguments."""
    return get_spec(name).make_cell(units, **kwargs)


def get_rnn_layer(name, units, unroll=False, layer_name="rnn", cudnn=True, **kwargs):
    """The recurrent layer over the whole sequence, returning the last valid step's output.

    Entries with a layer use their own Keras layer (``unroll`` does not apply); a fused one
    may pick cuDNN on a GPU unless ``cudnn`` is False (Keras decides by whether any GPU is
    visible, not by the device the step is placed on, so a CPU step on a GPU machine must say
    so). The others wrap their cell in ``keras.layers.RNN``, ``unroll``-ed or as a ``while``
    loop: the same ops either way (see ``TrainConfig.unroll``).
    """
    import keras

    spec = get_spec(name)
    if spec.layer is not None:
        if spec.kernel_path == FUSED_OR_CUDNN:
            kwargs = {"use_cudnn": "auto" if cudnn else False, **kwargs}
        return spec.make_layer(units, name=layer_name, **kwargs)
    make_cell = spec.make_cell
    if spec.faithful:
        # Named as TF1 scoped it, so variable paths read ``rnn/lstm_cell/kernel`` (no
        # ``_1`` suffix from Keras' auto-naming) and match the checkpoint names.
        kwargs = {"name": make_cell.tf1_scope.rsplit("/", 1)[-1], **kwargs}
    return keras.layers.RNN(make_cell(units, **kwargs), unroll=unroll, name=layer_name)
