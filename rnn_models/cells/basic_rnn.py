"""TF1 ``tf.contrib.rnn.BasicRNNCell``."""

import keras
from keras import ops

from rnn_models.cells._base import TF1Cell, check_positive_int


@keras.saving.register_keras_serializable(package="rnn_models")
class BasicRNNCell(TF1Cell):
    """``h' = activation(W [x, h] + b)``; output = state = h'.

    Shapes: x ``[B, I]``, h ``[B, units]``; ``kernel`` ``[I + units, units]``
    (glorot_uniform, as TF1's ``get_variable``), ``bias`` ``[units]`` (zeros). float32.
    """

    tf1_scope = "rnn/basic_rnn_cell"

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.state_size = [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        features = self._check_step_input(input_shape)
        self.kernel = self._add_kernel(features, 1)
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")

    def call(self, inputs, states):
        h = states[0]
        new_h = self.activation(ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel) + self.bias)
        return new_h, [new_h]

    def tf1_variables(self):
        return {"kernel": self.kernel, "bias": self.bias}

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }
