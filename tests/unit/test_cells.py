"""The TF1 cells against their equations (tests/tf1_reference.py), and their contract."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_models import REGISTRY, cell_names, get_cell, get_spec, load_tf1_variables
from tests.unit import tf1_reference as ref

FAITHFUL = [name for name, spec in REGISTRY.items() if spec.faithful]
FEATURES, UNITS, STEPS, BATCH = 28, 31, 28, 5

# Every LSTMCell option alone and combined; small clips so that clipping really happens.
LSTM_OPTIONS = [
    {},
    {"use_peepholes": True},
    {"cell_clip": 0.2},
    {"num_proj": 13},
    {"num_proj": 13, "proj_clip": 0.05},
    {"forget_bias": 0.0},
    {"use_peepholes": True, "cell_clip": 0.2, "num_proj": 13, "proj_clip": 0.05},
]
CASES = (
    [(name, {}) for name in FAITHFUL if name != "lstm"]
    + [("lstm", options) for options in LSTM_OPTIONS]
    + [
        ("basic_lstm", {"forget_bias": 0.5}),
        ("ln_basic_lstm", {"epsilon": 1e-3, "forget_bias": 0.0}),
        ("ln_basic_lstm", {"layer_norm": False}),
    ]
)


def case_id(case):
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


def run_keras(cell, x):
    outputs, *states = keras.layers.RNN(cell, return_sequences=True, return_state=True)(x)
    return np.asarray(outputs), [np.asarray(s) for s in states]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_parity_with_tf1_equations(case):
    name, options = case
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (BATCH, STEPS, FEATURES)).astype(np.float32)
    weights = ref.random_tf1_weights(name, FEATURES, UNITS, rng, **options)

    cell = load_tf1_variables(get_cell(name, UNITS, **options), weights)
    outputs, states = run_keras(cell, x)
    want_outputs, want_states = ref.run_sequence(name, weights, x, UNITS, **options)

    np.testing.assert_allclose(outputs, want_outputs, atol=1e-5, rtol=0)
    assert len(states) == len(want_states)
    for got, want in zip(states, want_states):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    if "cell_clip" in options:  # the clip must be active, or this case tests nothing
        assert np.isclose(np.abs(want_states[0]).max(), options["cell_clip"])
    if "proj_clip" in options:
        assert np.isclose(np.abs(want_outputs).max(), options["proj_clip"])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradients_match_central_differences(case):
    name, options = case
    rng = np.random.default_rng(1)
    features, units, steps = 3, 4, 3
    x = tf.constant(rng.uniform(-1.0, 1.0, (2, steps, features)))
    weights = ref.random_tf1_weights(name, features, units, rng, **options)
    cell = load_tf1_variables(get_cell(name, units, dtype="float64", **options), weights)
    rnn = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    probe = tf.constant(rng.normal(size=(2, steps, cell.output_size)))

    @tf.function  # eager RNN calls would make the hundreds of evaluations slow
    def loss():
        return tf.reduce_sum(rnn(x) * probe)

    variables = cell.trainable_variables
    with tf.GradientTape() as tape:
        value = loss()
    analytic = tape.gradient(value, variables)
    eps = 1e-6
    for variable, grad in zip(variables, analytic):
        flat = variable.numpy().ravel()
        numeric = np.zeros_like(flat)
        for k in range(flat.size):
            for sign in (1, -1):
                bumped = flat.copy()
                bumped[k] += sign * eps
                variable.assign(bumped.reshape(variable.shape))
                numeric[k] += sign * float(loss()) / (2 * eps)
            variable.assign(flat.reshape(variable.shape))
        np.testing.assert_allclose(
            np.asarray(grad).ravel(), numeric, atol=1e-6, rtol=1e-5, err_msg=variable.path
        )


@pytest.mark.parametrize("name", cell_names())
def test_config_round_trip(name):
    cell = get_cell(name, 7)
    rebuilt = type(cell).from_config(cell.get_config())
    assert rebuilt.get_config() == cell.get_config()


@pytest.mark.parametrize("name", cell_names())
def test_model_save_load_round_trip(name, tmp_path):
    from rnn_models.config import TrainConfig
    from rnn_models.training.model import build_model

    model = build_model(TrainConfig(cell=name, units=6))
    x = np.random.default_rng(2).uniform(size=(3, 28, 28)).astype(np.float32)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lstm_projection_sizes():
    cell = get_cell("lstm", 10, num_proj=4)
    assert cell.state_size == [10, 4] and cell.output_size == 4
    cell.build((None, 28))
    assert tuple(cell.kernel.shape) == (28 + 4, 40)


def test_unknown_cell_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown cell 'lsmt'.*basic_rnn.*ln_basic_lstm"):
        get_spec("lsmt")


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("basic_rnn", {"units": 0}, "`units`.*got 0"),
        ("lstm", {"units": -3}, "`units`.*got -3"),
        ("gru", {"units": 2.5}, "`units`.*got 2.5"),
        ("ln_basic_lstm", {"units": 4, "dropout_keep_prob": 0.0}, "`dropout_keep_prob`.*got 0.0"),
        ("ln_basic_lstm", {"units": 4, "dropout_keep_prob": 1.5}, "`dropout_keep_prob`.*got 1.5"),
        ("lstm", {"units": 4, "proj_clip": 1.0}, "proj_clip=1.0.*without `num_proj`"),
        ("lstm", {"units": 4, "cell_clip": -1.0}, "`cell_clip`.*got -1.0"),
        ("lstm", {"units": 4, "num_proj": 0}, "`num_proj`.*got 0"),
    ],
)
def test_bad_arguments_name_the_argument(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_cell(name, **kwargs)


@pytest.mark.parametrize("name", FAITHFUL)
def test_wrong_input_rank_is_an_error(name):
    with pytest.raises(ValueError, match=r"rank 3 with shape \(2, 5, 28\)"):
        get_cell(name, 4).build((2, 5, 28))


def test_wrong_feature_size_for_model_is_an_error():
    from rnn_models.config import TrainConfig
    from rnn_models.training.model import build_model

    model = build_model(TrainConfig(cell="gru", units=4))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 28, 28\).*\(2, 28, 27\)"):
        model(np.zeros((2, 28, 27), np.float32))


def layer_norm_gradients_finite(epsilon, blank_rows=5):
    """Whether every gradient of the layer-norm model is finite on a batch whose first
    ``blank_rows`` rows are all zero, as MNIST digits' are (4 to 7 blank rows)."""
    from rnn_models.config import TrainConfig
    from rnn_models.training.model import build_model

    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(cell="ln_basic_lstm", cell_kwargs={"epsilon": epsilon}))
    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (16, 28, 28)).astype(np.float32)
    x[:, :blank_rows] = 0.0
    y = rng.integers(0, 10, 16)
    with tf.GradientTape() as tape:
        logits = model(x)
        loss = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        loss = tf.reduce_mean(loss)
    assert np.isfinite(float(loss))  # the forward pass is fine; only gradients break
    grads = tape.gradient(loss, model.trainable_variables)
    cell_finite = {v.path.split("/")[-1]: bool(np.isfinite(g).all())
                   for v, g in zip(model.trainable_variables, grads) if "logits" not in v.path}
    head_finite = all(bool(np.isfinite(g).all())
                      for v, g in zip(model.trainable_variables, grads) if "logits" in v.path)
    return cell_finite, head_finite


def test_layer_norm_gradients_at_tf1_epsilon_are_not_finite_on_blank_rows():
    # Measured: at TF1's epsilon 1e-12 every cell variable's gradient is inf/NaN at the
    # very first step (the layer norms' Jacobians scale by 1/sqrt(1e-12) = 1e6 while the
    # state is exactly zero); only the Dense head's gradient stays finite.
    cell_finite, head_finite = layer_norm_gradients_finite(1e-12)
    assert set(cell_finite) == {"kernel"} | {
        f"{s}_{p}" for s in ("input", "transform", "forget", "output", "state") for p in ("gamma", "beta")
    }
    assert not any(cell_finite.values()), cell_finite
    assert head_finite  # the Dense head comes before the RNN in the backward pass


def test_layer_norm_gradients_at_keras_epsilon_are_finite_on_blank_rows():
    cell_finite, head_finite = layer_norm_gradients_finite(1e-3)
    assert all(cell_finite.values()) and head_finite, cell_finite


def test_layer_norm_gradients_finite_without_blank_rows():
    # The same cell at 1e-12 is fine when no row is blank: the zero variance is the cause.
    cell_finite, head_finite = layer_norm_gradients_finite(1e-12, blank_rows=0)
    assert all(cell_finite.values()) and head_finite, cell_finite


def test_layer_norm_cell_without_dropout_leaves_keras_global_rng_alone():
    # An unseeded SeedGenerator draws from the global RNG at construction: had the cell
    # made one with dropout off, constructing it would shift every later initial weight.
    def next_draw(**kwargs):
        keras.utils.set_random_seed(0)
        get_cell("ln_basic_lstm", 4, **kwargs)
        return keras.random.uniform((3,)).numpy()

    keras.utils.set_random_seed(0)
    untouched = keras.random.uniform((3,)).numpy()
    np.testing.assert_array_equal(next_draw(), untouched)
    assert not np.array_equal(next_draw(dropout_keep_prob=0.5), untouched)  # the check can fail
