"""TF1 ``tf.contrib.rnn.BasicLSTMCell``."""

import keras
from keras import ops

from rnn_models.cells._base import TF1Cell, check_positive_int


@keras.saving.register_keras_serializable(package="rnn_models")
class BasicLSTMCell(TF1Cell):
    """TF1's basic LSTM, gate order i, j, f, o::

        [i, j, f, o] = split(W [x, h] + b, 4)
        c' = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j)
        h' = activation(c') * sigmoid(o)

    ``forget_bias`` is a constant added every step, not part of the trainable bias.
    Shapes: x ``[B, I]``; states ``(c, h)``, each ``[B, units]``; ``kernel``
    ``[I + units, 4 * units]`` (glorot_uniform), ``bias`` ``[4 * units]`` (zeros). float32.
    """

    tf1_scope = "rnn/basic_lstm_cell"

    def __init__(self, units, forget_bias=1.0, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.forget_bias = float(forget_bias)
        self.activation = keras.activations.get(activation)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def build(self, input_shape):
        features = self._check_step_input(input_shape)
        self.kernel = self._add_kernel(features, 4)
        self.bias = self.add_weight(shape=(4 * self.units,), name="bias", initializer="zeros")

    def call(self, inputs, states):
        c, h = states
        gates = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel) + self.bias
        i, j, f, o = ops.split(gates, 4, axis=-1)
        new_c = c * ops.sigmoid(f + self.forget_bias) + ops.sigmoid(i) * self.activation(j)
        new_h = self.activation(new_c) * ops.sigmoid(o)
        return new_h, [new_c, new_h]

    def tf1_variables(self):
        return {"kernel": self.kernel, "bias": self.bias}

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "forget_bias": self.forget_bias,
            "activation": keras.activations.serialize(self.activation),
        }
