"""The tutorial's model around a cell: shapes, sequence_length, config presets."""

import keras
import numpy as np
import pytest

from rnn_models.config import PRESETS, TUTORIAL, TrainConfig, preset
from rnn_models.training.model import build_model


@pytest.mark.parametrize("cell", ["basic_lstm", "lstm", "gru", "ln_basic_lstm", "keras_lstm"])
def test_sequence_length_output_equals_running_the_shorter_sequence(cell):
    keras.utils.set_random_seed(0)
    model = build_model(TrainConfig(cell=cell, units=8), with_sequence_length=True)

    def alone(n):
        """The same layers (so the same weights) over n steps, unmasked."""
        steps = keras.Input((n, 28))
        return keras.Model(steps, model.get_layer("logits")(model.get_layer("rnn")(steps)))

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 28, 28)).astype(np.float32)
    lengths = np.array([28, 17, 5], np.int32)
    x[1, 17:] = x[2, 5:] = 1e3  # padding past the end must not matter
    logits = model.predict([x, lengths], verbose=0)
    for k, n in enumerate(lengths):
        np.testing.assert_allclose(logits[k], alone(n).predict(x[k : k + 1, :n], verbose=0)[0], atol=1e-5)


def test_logits_shape_and_dtype():
    model = build_model(TrainConfig(cell="basic_rnn", units=5))
    logits = model(np.zeros((4, 28, 28), np.float32))
    assert tuple(logits.shape) == (4, 10) and logits.dtype == "float32"


def test_pixel_task_model_reads_784_steps_of_one_pixel():
    model = build_model(TrainConfig(cell="gru", units=5, task="pixels"))
    assert tuple(model.input_shape) == (None, 784, 1)
    assert not model.get_layer("rnn").unroll  # 784 steps keep the while loop
    assert build_model(TrainConfig(cell="gru", units=5)).get_layer("rnn").unroll  # 28 rows


def test_presets_derive_from_the_tutorial():
    assert TUTORIAL.units == 31 and TUTORIAL.batch_size == 128 and TUTORIAL.learning_rate == 1e-3
    assert PRESETS["tutorial_clipped"] == TUTORIAL.replace(clip_norm=5.0)
    assert preset("tutorial", cell="gru").cell == "gru"
    with pytest.raises(ValueError, match="Unknown preset 'fast'.*tutorial"):
        preset("fast")


@pytest.mark.parametrize(
    "changes, message",
    [({"units": 0}, "`units`.*got 0"), ({"batch_size": -1}, "`batch_size`.*got -1"),
     ({"learning_rate": 0.0}, "learning_rate"), ({"clip_norm": -5.0}, "clip_norm")],
)
def test_bad_config_values_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TUTORIAL.replace(**changes)


def test_config_dict_round_trip_and_unknown_field():
    config = TUTORIAL.replace(cell="lstm", cell_kwargs={"use_peepholes": True}, clip_norm=5.0)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="Unknown TrainConfig fields: hidden"):
        TrainConfig.from_dict({**config.to_dict(), "hidden": 3})


def test_matmul_flops_of_the_tutorial_lstm():
    from rnn_models.speed.flops import inference_flops, train_flops

    model = build_model(TUTORIAL)  # lstm, 28 x 28 input, 31 units
    # Per step [128, 28 + 31] @ [59, 124]; 28 steps; then the [128, 31] @ [31, 10] head.
    forward = 28 * 2 * 128 * 59 * 124 + 2 * 128 * 31 * 10
    assert inference_flops(model, 128) == forward
    assert train_flops(model, 128) == 3 * forward  # about 157 MFLOP, as the 165
    with_lengths = build_model(TUTORIAL, with_sequence_length=True)
    assert inference_flops(with_lengths, 128) == forward
