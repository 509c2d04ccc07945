"""Loading TF1-named weights: from a dict (relative or scoped names) and a TF1 checkpoint."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnn_models import get_cell, load_tf1_variables
from tests.unit import tf1_reference as ref

UNITS, FEATURES = 6, 28


def outputs_of(cell, x):
    return np.asarray(keras.layers.RNN(cell, return_sequences=True)(x))


@pytest.mark.parametrize("name", ["basic_lstm", "gru", "ln_basic_lstm"])
def test_scoped_names_load_like_relative_names(name):
    rng = np.random.default_rng(0)
    weights = ref.random_tf1_weights(name, FEATURES, UNITS, rng)
    scope = get_cell(name, UNITS).tf1_scope
    x = rng.uniform(size=(2, 5, FEATURES)).astype(np.float32)
    relative = outputs_of(load_tf1_variables(get_cell(name, UNITS), weights), x)
    scoped = {f"{scope}/{k}": v for k, v in weights.items()}
    np.testing.assert_array_equal(outputs_of(load_tf1_variables(get_cell(name, UNITS), scoped), x), relative)
    want, _ = ref.run_sequence(name, weights, x, UNITS)
    np.testing.assert_allclose(relative, want, atol=1e-5)


def test_projection_kernel_is_not_mistaken_for_the_kernel():
    rng = np.random.default_rng(1)
    options = {"num_proj": 3, "use_peepholes": True}
    weights = ref.random_tf1_weights("lstm", FEATURES, UNITS, rng, **options)
    cell = load_tf1_variables(get_cell("lstm", UNITS, **options),
                              {f"rnn/lstm_cell/{k}": v for k, v in weights.items()})
    np.testing.assert_array_equal(cell.projection_kernel.numpy(), weights["projection/kernel"])
    np.testing.assert_array_equal(cell.kernel.numpy(), weights["kernel"])


def test_wrong_name_is_named():
    weights = ref.random_tf1_weights("basic_rnn", FEATURES, UNITS, np.random.default_rng(0))
    weights["kernal"] = weights.pop("kernel")
    with pytest.raises(ValueError, match="Unknown TF1 variable 'kernal'.*expected names: bias, kernel"):
        load_tf1_variables(get_cell("basic_rnn", UNITS), weights)


def test_missing_name_is_named():
    weights = ref.random_tf1_weights("gru", FEATURES, UNITS, np.random.default_rng(0))
    del weights["candidate/bias"]
    with pytest.raises(ValueError, match="Missing TF1 variables for GRUCell: candidate/bias"):
        load_tf1_variables(get_cell("gru", UNITS), weights)


def test_wrong_shape_is_named():
    weights = ref.random_tf1_weights("basic_lstm", FEATURES, UNITS, np.random.default_rng(0))
    weights["bias"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match=r"'bias' has shape \(5,\).*expects \(24,\)"):
        load_tf1_variables(get_cell("basic_lstm", UNITS), weights)


def test_built_cell_with_other_input_size_is_refused():
    cell = get_cell("basic_rnn", UNITS)
    cell.build((None, 3))
    weights = ref.random_tf1_weights("basic_rnn", FEATURES, UNITS, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"'kernel' has shape \(34, 6\).*expects \(9, 6\)"):
        load_tf1_variables(cell, weights)


def write_tf1_checkpoint(path, scoped_weights):
    """Writes a genuine TF1 (graph-mode ``tf.compat.v1.train.Saver``) checkpoint, with
    Adam slots and the head's variables beside the cell's, as a TF1 training run left."""
    graph = tf.Graph()
    with graph.as_default():
        for name, value in scoped_weights.items():
            tf.compat.v1.get_variable(name, initializer=tf.constant(value))
            tf.compat.v1.get_variable(name + "/Adam", initializer=tf.zeros_like(value))
        tf.compat.v1.get_variable("dense/kernel", initializer=tf.zeros((UNITS, 10)))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return saver.save(session, str(path))


@pytest.mark.parametrize("name", ["lstm", "gru", "ln_basic_lstm"])
def test_real_tf1_checkpoint_gives_the_parity_outputs(name, tmp_path):
    rng = np.random.default_rng(2)
    options = {"use_peepholes": True, "num_proj": 4} if name == "lstm" else {}
    weights = ref.random_tf1_weights(name, FEATURES, UNITS, rng, **options)
    cell = get_cell(name, UNITS, **options)
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt",
                                  {f"{cell.tf1_scope}/{k}": v for k, v in weights.items()})
    load_tf1_variables(cell, prefix)
    x = rng.uniform(size=(2, 6, FEATURES)).astype(np.float32)
    want, _ = ref.run_sequence(name, weights, x, UNITS, **options)
    np.testing.assert_allclose(outputs_of(cell, x), want, atol=1e-5)


def test_checkpoint_without_the_scope_is_named(tmp_path):
    prefix = write_tf1_checkpoint(tmp_path / "model.ckpt", {"rnn/gru_cell/gates/bias": np.ones(12, np.float32)})
    with pytest.raises(ValueError, match="No variable under scope 'rnn/lstm_cell'"):
        load_tf1_variables(get_cell("lstm", UNITS), prefix)
