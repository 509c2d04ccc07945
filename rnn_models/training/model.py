"""The tutorial's model: RNN over a registered cell -> last valid step -> Dense(10)."""

import keras
from keras import ops

from rnn_models.data.sequences import task_shape
from rnn_models.machine.numerics_pin import is_gpu
from rnn_models.registry import get_rnn_layer

NUM_CLASSES = 10


@keras.saving.register_keras_serializable(package="rnn_models")
class SequenceMask(keras.layers.Layer):
    """``sequence_length`` ``[B]`` int -> mask ``[B, maxlen]`` bool, as ``dynamic_rnn`` used.

    Under this mask the RNN layer carries its state and output past each sequence's end,
    so its final output is the one at the last valid step.
    """

    def __init__(self, maxlen, **kwargs):
        super().__init__(**kwargs)
        self.maxlen = int(maxlen)

    def call(self, lengths):
        return ops.arange(self.maxlen)[None, :] < ops.cast(lengths, "int32")[:, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.maxlen)

    def get_config(self):
        return {**super().get_config(), "maxlen": self.maxlen}


def build_model(config, with_sequence_length=False, device=None):
    """Keras model for ``config``, for steps placed on ``device`` (None: any; a CPU device
    keeps Keras' fused layers off cuDNN, which would otherwise run on a visible GPU).

    Inputs: ``[batch, time, features]`` float32 (the task's shape, 28 x 28 for rows),
    plus ``sequence_length`` ``[batch]`` int32 when ``with_sequence_length``.
    Output: logits ``[batch, 10]`` float32 from the output at each sequence's last
    valid step (the last step when no lengths are given).
    """
    timesteps, features = task_shape(config.task)
    inputs = keras.Input((timesteps, features), name="inputs")
    cudnn = device is None or is_gpu(device)
    rnn = get_rnn_layer(config.cell, config.units, config.use_unroll, cudnn=cudnn, **config.cell_kwargs)
    if with_sequence_length:
        lengths = keras.Input((), dtype="int32", name="sequence_length")
        last = rnn(inputs, mask=SequenceMask(timesteps)(lengths))
        model_inputs = [inputs, lengths]
    else:
        last = rnn(inputs)
        model_inputs = inputs
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(last)
    return keras.Model(model_inputs, logits, name=f"{config.cell}_classifier")
