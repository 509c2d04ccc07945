"""TF1 ``tf.nn.rnn_cell.LSTMCell``: peepholes, cell clipping and an output projection."""

import keras
from keras import ops

from rnn_models.cells._base import TF1Cell, check_optional_positive, check_positive_int


@keras.saving.register_keras_serializable(package="rnn_models")
class LSTMCell(TF1Cell):
    """TF1's full LSTM cell, gate order i, j, f, o::

        [i, j, f, o] = split(W [x, m] + b, 4)
        c' = sigmoid(f + forget_bias [+ w_f * c]) * c + sigmoid(i [+ w_i * c]) * act(j)
        c' = clip(c', -cell_clip, cell_clip)                 if cell_clip
        m' = sigmoid(o [+ w_o * c']) * act(c')               output peephole uses the new c
        m' = clip(m' @ P, -proj_clip, proj_clip)             if num_proj (clip if proj_clip)

    Bracketed terms only with ``use_peepholes``. Shapes: x ``[B, I]``; states ``(c, m)``
    with c ``[B, units]`` and m ``[B, num_proj or units]``; output = m.
    Variables: ``kernel`` ``[I + (num_proj or units), 4 * units]``, ``bias`` ``[4 * units]``
    (zeros), ``w_i_diag``/``w_f_diag``/``w_o_diag`` ``[units]``, ``projection/kernel``
    ``[units, num_proj]``. ``initializer`` (default glorot_uniform, as TF1) initialises the
    kernel and projection. float32.
    """

    tf1_scope = "rnn/lstm_cell"

    def __init__(
        self,
        units,
        use_peepholes=False,
        cell_clip=None,
        num_proj=None,
        proj_clip=None,
        forget_bias=1.0,
        activation="tanh",
        initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.use_peepholes = bool(use_peepholes)
        self.cell_clip = check_optional_positive("cell_clip", cell_clip)
        self.num_proj = None if num_proj is None else check_positive_int("num_proj", num_proj)
        self.proj_clip = check_optional_positive("proj_clip", proj_clip)
        if self.proj_clip is not None and self.num_proj is None:
            # TF1 silently ignored proj_clip here; a migrating user deserves to know.
            raise ValueError(
                f"Received `proj_clip={proj_clip!r}` without `num_proj`: "
                "proj_clip only applies to the projection, set num_proj too."
            )
        self.forget_bias = float(forget_bias)
        self.activation = keras.activations.get(activation)
        self.initializer = keras.initializers.get(initializer or "glorot_uniform")
        output_units = self.num_proj or self.units
        self.state_size = [self.units, output_units]
        self.output_size = output_units

    def build(self, input_shape):
        features = self._check_step_input(input_shape)
        self.kernel = self.add_weight(
            shape=(features + self.output_size, 4 * self.units), name="kernel",
            initializer=self.initializer,
        )
        self.bias = self.add_weight(shape=(4 * self.units,), name="bias", initializer="zeros")
        if self.use_peepholes:
            # TF1 initialised the diagonals with the scope's default (glorot_uniform).
            self.w_i_diag, self.w_f_diag, self.w_o_diag = (
                self.add_weight(shape=(self.units,), name=name, initializer="glorot_uniform")
                for name in ("w_i_diag", "w_f_diag", "w_o_diag")
            )
        if self.num_proj is not None:
            self.projection_kernel = self.add_weight(
                shape=(self.units, self.num_proj), name="projection_kernel",
                initializer=self.initializer,
            )

    def call(self, inputs, states):
        c, m = states
        gates = ops.matmul(ops.concatenate([inputs, m], axis=-1), self.kernel) + self.bias
        i, j, f, o = ops.split(gates, 4, axis=-1)
        if self.use_peepholes:
            f = f + self.w_f_diag * c
            i = i + self.w_i_diag * c
        new_c = ops.sigmoid(f + self.forget_bias) * c + ops.sigmoid(i) * self.activation(j)
        if self.cell_clip is not None:
            new_c = ops.clip(new_c, -self.cell_clip, self.cell_clip)
        if self.use_peepholes:
            o = o + self.w_o_diag * new_c
        new_m = ops.sigmoid(o) * self.activation(new_c)
        if self.num_proj is not None:
            new_m = ops.matmul(new_m, self.projection_kernel)
            if self.proj_clip is not None:
                new_m = ops.clip(new_m, -self.proj_clip, self.proj_clip)
        return new_m, [new_c, new_m]

    def tf1_variables(self):
        names = {"kernel": self.kernel, "bias": self.bias}
        if self.use_peepholes:
            names.update(w_i_diag=self.w_i_diag, w_f_diag=self.w_f_diag, w_o_diag=self.w_o_diag)
        if self.num_proj is not None:
            names["projection/kernel"] = self.projection_kernel
        return names

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "use_peepholes": self.use_peepholes,
            "cell_clip": self.cell_clip,
            "num_proj": self.num_proj,
            "proj_clip": self.proj_clip,
            "forget_bias": self.forget_bias,
            "activation": keras.activations.serialize(self.activation),
            "initializer": keras.initializers.serialize(self.initializer),
        }
