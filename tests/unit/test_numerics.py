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


def _sweep_with_a_new_model_per_seed(config, data, seeds):
    """The sweep as it was first written: a new model, optimizer and traced step per seed."""
    import keras
    import tensorflow as tf

    from rnn_models.training.model import build_model
    from rnn_models.training.steps import make_optimizer, make_train_step

    config = config.replace(jit_compile=False, unroll=False)
    x = tf.constant(data.inputs(data.pixels_train[: config.batch_size]))
    y = tf.constant(data.y_train[: config.batch_size])
    firsts, seconds = [], []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        step = make_train_step(build_model(config.replace(seed=seed)), make_optimizer(config), config)
        loss, _, grad_norm, _ = step(x, y)
        firsts.append((float(loss), float(grad_norm)))
        seconds.append(float(step(x, y)[0]))
    return firsts, seconds


def test_one_traced_step_gives_each_seeds_numbers_of_a_new_model(monkeypatch):
    # The sweep reloads each seed's initial weights into one traced step; every seed's first
    # loss and norm, and its second loss, must be those of a model built for that seed alone.
    import rnn_models.training.first_step as first_step

    data = prepare(synthetic_arrays(n_train=64, n_test=32), split="keras")
    config = LN.replace(clip_norm=5.0, learning_rate=0.05)
    seen = []
    real_step = first_step.make_train_step

    def recording_step(*args):
        step = real_step(*args)

        def recorded(x, y):
            out = step(x, y)
            seen.append(tuple(float(v) for v in out[:3:2]) if len(seen) % 2 == 0 else float(out[0]))
            return out
        return recorded

    monkeypatch.setattr(first_step, "make_train_step", recording_step)
    first_step.first_step_sweep(config, data, seeds=(0, 1, 2))
    firsts, seconds = _sweep_with_a_new_model_per_seed(config, data, (0, 1, 2))
    assert seen[0::2] == firsts and seen[1::2] == seconds
    assert len(set(firsts)) == 3  # the seeds did give different models
