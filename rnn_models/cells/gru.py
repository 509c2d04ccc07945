"""TF1 ``tf.nn.rnn_cell.GRUCell`` (reset applied before the candidate matmul)."""

import keras
from keras import ops

from rnn_models.cells._base import TF1Cell, check_positive_int


@keras.saving.register_keras_serializable(package="rnn_models")
class GRUCell(TF1Cell):
    """TF1's GRU::

        [r, u] = sigmoid(W_g [x, h] + b_g)        b_g initialised to 1.0
        h~ = activation(W_c [x, r * h] + b_c)     b_c initialised to 0.0
        h' = u * h + (1 - u) * h~

    This is Keras' ``GRUCell(reset_after=False)`` model, not Keras' default.
    Shapes: x ``[B, I]``, h ``[B, units]``; ``gates/kernel`` ``[I + units, 2 * units]``,
    ``gates/bias`` ``[2 * units]``, ``candidate/kernel`` ``[I + units, units]``,
    ``candidate/bias`` ``[units]``. A given ``bias_initializer`` sets both biases, as in
    TF1. float32.
    """

    tf1_scope = "rnn/gru_cell"

    def __init__(self, units, activation="tanh", kernel_initializer=None,
                 bias_initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or "glorot_uniform")
        self.bias_initializer = (
            None if bias_initializer is None else keras.initializers.get(bias_initializer)
        )
        self.state_size = [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        features = self._check_step_input(input_shape)
        self.gate_kernel = self.add_weight(
            shape=(features + self.units, 2 * self.units), name="gate_kernel",
            initializer=self.kernel_initializer,
        )
        self.gate_bias = self.add_weight(
            shape=(2 * self.units,), name="gate_bias",
            # A bias of 1.0 starts with the gates mostly open (TF1's default).
            initializer=self.bias_initializer or keras.initializers.Constant(1.0),
        )
        self.candidate_kernel = self.add_weight(
            shape=(features + self.units, self.units), name="candidate_kernel",
            initializer=self.kernel_initializer,
        )
        self.candidate_bias = self.add_weight(
            shape=(self.units,), name="candidate_bias",
            initializer=self.bias_initializer or "zeros",
        )

    def call(self, inputs, states):
        h = states[0]
        gates = ops.sigmoid(
            ops.matmul(ops.concatenate([inputs, h], axis=-1), self.gate_kernel) + self.gate_bias
        )
        r, u = ops.split(gates, 2, axis=-1)
        candidate = self.activation(
            ops.matmul(ops.concatenate([inputs, r * h], axis=-1), self.candidate_kernel)
            + self.candidate_bias
        )
        new_h = u * h + (1.0 - u) * candidate
        return new_h, [new_h]

    def tf1_variables(self):
        return {
            "gates/kernel": self.gate_kernel,
            "gates/bias": self.gate_bias,
            "candidate/kernel": self.candidate_kernel,
            "candidate/bias": self.candidate_bias,
        }

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": (
                None if self.bias_initializer is None
                else keras.initializers.serialize(self.bias_initializer)
            ),
        }
