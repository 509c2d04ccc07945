"""The training pool: runs in pinned worker processes equal the same runs trained here."""

import os

import pytest

from rnn_models.config import TrainConfig
from rnn_models.parallel import TrainingPool
from rnn_models.train import load_data, train_and_evaluate

REAL_MNIST = os.environ.get("RNN_MODELS_MNIST")


@pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
def test_pool_runs_are_bit_identical_to_runs_in_this_process():
    configs = [TrainConfig(cell="gru", units=8, epochs=1, steps_per_epoch=6, test_steps=3,
                           log_every=3, seed=seed) for seed in (0, 1, 2)]
    with TrainingPool(processes=2) as pool:
        pooled = pool.run(configs)
    data = load_data(configs[0])
    here = [train_and_evaluate(config, data) for config in configs]
    assert [r.config.seed for r in pooled] == [0, 1, 2]
    for a, b in zip(pooled, here):
        assert [w.loss for w in a.train_curve] == [w.loss for w in b.train_curve]
        assert [e.accuracy_mean for e in a.test_curve] == [e.accuracy_mean for e in b.test_curve]
    assert pooled[0].train_curve != pooled[1].train_curve  # the seeds differ
