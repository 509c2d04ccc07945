"""The first-step sweep over seeds, on data the tests make."""

from rnn_models.config import TrainConfig
from rnn_models.data import prepare
from rnn_models.training.first_step import first_step_sweep
from tests.unit.test_train import synthetic_arrays

LN = TrainConfig(cell="ln_basic_lstm", units=8, batch_size=32)


def test_sweep_finds_every_seed_broken_at_tf1_epsilon_on_blank_rows():
    data = prepare(synthetic_arrays(n_train=64, n_test=32, blank_rows=4), split="keras")
    sweep = first_step_sweep(LN, data, seeds=(0, 1))
    assert sweep["seeds"] == [0, 1] and sweep["nonfinite_gradient_seeds"] == [0, 1]
    assert sweep["nonfinite_after_update_seeds"] == [0, 1]  # NaN gradients, applied
    assert sweep["grad_norm_max"] is None


def test_sweep_is_clean_without_blank_rows():
    data = prepare(synthetic_arrays(n_train=64, n_test=32), split="keras")
    sweep = first_step_sweep(LN, data, seeds=(0, 1))
    assert sweep["nonfinite_gradient_seeds"] == sweep["norm_overflow_seeds"] == []
    assert sweep["nonfinite_after_update_seeds"] == []
    assert 0 < sweep["grad_norm_median"] <= sweep["grad_norm_max"] < 1e3


def test_norm_overflow_is_told_apart_and_is_fatal_only_with_clipping(monkeypatch):
    # Gradients scaled to ~1e30 per element: each finite, their global norm overflows.
    import tensorflow as tf

    real = tf.GradientTape.gradient
    monkeypatch.setattr(tf.GradientTape, "gradient",
                        lambda self, target, sources: [g * 1e30 for g in real(self, target, sources)])
    data = prepare(synthetic_arrays(n_train=64, n_test=32), split="keras")
    config = TrainConfig(cell="gru", units=4, batch_size=32)
    unclipped = first_step_sweep(config, data, seeds=(0,))
    clipped = first_step_sweep(config.replace(clip_norm=5.0), data, seeds=(0,))
    assert unclipped["norm_overflow_seeds"] == clipped["norm_overflow_seeds"] == [0]
    assert unclipped["nonfinite_gradient_seeds"] == [] and unclipped["nonfinite_after_update_seeds"] == []
    assert clipped["nonfinite_after_update_seeds"] == [0]  # clip_by_global_norm -> NaN
