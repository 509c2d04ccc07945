"""TF1 ``tf.contrib.rnn.LayerNormBasicLSTMCell``."""

import keras
from keras import ops

from rnn_models.cells._base import TF1Cell, check_positive_int

# TF1's layer norm scopes, in gate order, then the normalised cell state.
GATE_SCOPES = ("input", "transform", "forget", "output")
STATE_SCOPE = "state"


def layer_norm(v, gamma, beta, epsilon):
    """TF1's ``layers.layer_norm`` over the last axis of ``v`` ``[B, N]``.

    ``LN(v) = gamma * (v - mean) / sqrt(var + epsilon) + beta``, written as TF1 did
    (``nn.moments`` with the mean's gradient stopped in the variance, then
    ``nn.batch_normalization``), so its gradients at zero variance are TF1's too.
    """
    mean = ops.mean(v, axis=-1, keepdims=True)
    variance = ops.mean(ops.square(v - ops.stop_gradient(mean)), axis=-1, keepdims=True)
    inv = ops.rsqrt(variance + epsilon) * gamma
    return v * inv + (beta - mean * inv)


@keras.saving.register_keras_serializable(package="rnn_models")
class LayerNormBasicLSTMCell(TF1Cell):
    """TF1's layer-normalised basic LSTM::

        [i, j, f, o] = split(W [x, h] (+ b only when layer_norm is off), 4)
        i, j, f, o = LN_input(i), LN_transform(j), LN_forget(f), LN_output(o)
        g  = dropout(activation(j), keep_prob)         training only, candidate only
        c' = LN_state(c * sigmoid(f + forget_bias) + sigmoid(i) * g)
        h' = activation(c') * sigmoid(o)

    Each LN has its own ``gamma`` (init ``norm_gain``) and ``beta`` (init ``norm_shift``)
    over the ``units`` axis. ``epsilon`` defaults to TF1's hard-coded 1e-12, which lets
    the tutorial's NaN be reproduced; 1e-3 is Keras' LayerNormalization default.
    Shapes: x ``[B, I]``; states ``(c, h)``, each ``[B, units]``; ``kernel``
    ``[I + units, 4 * units]`` (glorot_uniform). float32.
    """

    tf1_scope = "rnn/layer_norm_basic_lstm_cell"

    def __init__(
        self,
        units,
        forget_bias=1.0,
        activation="tanh",
        layer_norm=True,
        norm_gain=1.0,
        norm_shift=0.0,
        dropout_keep_prob=1.0,
        dropout_prob_seed=None,
        epsilon=1e-12,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.forget_bias = float(forget_bias)
        self.activation = keras.activations.get(activation)
        self.layer_norm = bool(layer_norm)
        self.norm_gain = float(norm_gain)
        self.norm_shift = float(norm_shift)
        if not 0.0 < dropout_keep_prob <= 1.0:
            raise ValueError(
                "Received an invalid value for argument `dropout_keep_prob`, "
                f"expected a number in (0, 1], got {dropout_keep_prob!r}."
            )
        self.dropout_keep_prob = float(dropout_keep_prob)
        self.dropout_prob_seed = dropout_prob_seed
        if not epsilon > 0:
            raise ValueError(
                "Received an invalid value for argument `epsilon`, "
                f"expected a positive number, got {epsilon!r}."
            )
        self.epsilon = float(epsilon)
        # Only with dropout: an unseeded SeedGenerator draws from Keras' global RNG, which
        # would shift every weight initialised after this cell is constructed.
        self.seed_generator = (keras.random.SeedGenerator(dropout_prob_seed)
                               if self.dropout_keep_prob < 1.0 else None)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        features = self._check_step_input(input_shape)
        self.kernel = self._add_kernel(features, 4)
        self.gammas, self.betas = {}, {}
        if self.layer_norm:
            for scope in GATE_SCOPES + (STATE_SCOPE,):
                self.gammas[scope] = self.add_weight(
                    shape=(self.units,), name=f"{scope}_gamma",
                    initializer=keras.initializers.Constant(self.norm_gain),
                )
                self.betas[scope] = self.add_weight(
                    shape=(self.units,), name=f"{scope}_beta",
                    initializer=keras.initializers.Constant(self.norm_shift),
                )
            self.bias = None
        else:
            self.bias = self.add_weight(shape=(4 * self.units,), name="bias", initializer="zeros")

    def _norm(self, v, scope):
        return layer_norm(v, self.gammas[scope], self.betas[scope], self.epsilon)

    def call(self, inputs, states, training=False):
        c, h = states
        z = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel)
        if self.bias is not None:
            z = z + self.bias
        gates = ops.split(z, 4, axis=-1)
        if self.layer_norm:
            gates = [self._norm(g, scope) for g, scope in zip(gates, GATE_SCOPES)]
        i, j, f, o = gates
        g = self.activation(j)
        if training and self.dropout_keep_prob < 1.0:
            # A fresh mask every step, as TF1's nn_ops.dropout in the cell did.
            g = keras.random.dropout(g, 1.0 - self.dropout_keep_prob, seed=self.seed_generator)
        new_c = c * ops.sigmoid(f + self.forget_bias) + ops.sigmoid(i) * g
        if self.layer_norm:
            new_c = self._norm(new_c, STATE_SCOPE)
        new_h = self.activation(new_c) * ops.sigmoid(o)
        return new_h, [new_c, new_h]

    def tf1_variables(self):
        names = {"kernel": self.kernel}
        if self.bias is not None:
            names["bias"] = self.bias
        for scope in self.gammas:
            names[f"{scope}/gamma"] = self.gammas[scope]
            names[f"{scope}/beta"] = self.betas[scope]
        return names

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "forget_bias": self.forget_bias,
            "activation": keras.activations.serialize(self.activation),
            "layer_norm": self.layer_norm,
            "norm_gain": self.norm_gain,
            "norm_shift": self.norm_shift,
            "dropout_keep_prob": self.dropout_keep_prob,
            "dropout_prob_seed": self.dropout_prob_seed,
            "epsilon": self.epsilon,
        }
