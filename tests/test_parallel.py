"""Runs trained elsewhere equal the same runs trained here: in the training pool's pinned
worker processes, and through the run exchange by another process."""

import os
import subprocess
import sys
import time

import pytest

from rnn_models.config import TrainConfig
from rnn_models.parallel import ChildTrainer, RunExchange, TrainingPool
from rnn_models.parallel.local import train_here
from rnn_models.train import load_data, train_and_evaluate

REAL_MNIST = os.environ.get("RNN_MODELS_MNIST")


def small_configs(cell):
    """Seeds 0-2 of a few steps of ``cell``: enough to tell runs apart, in seconds."""
    return [TrainConfig(cell=cell, units=8, epochs=1, steps_per_epoch=6, test_steps=3,
                        log_every=3, seed=seed) for seed in (0, 1, 2)]


def assert_runs_of_this_process(runs, configs):
    """Each of ``runs`` equals ``configs``' run trained here, bit for bit."""
    data = load_data(configs[0])
    for a, b in zip(runs, [train_and_evaluate(config, data) for config in configs], strict=True):
        assert a.config == b.config
        assert [w.loss for w in a.train_curve] == [w.loss for w in b.train_curve]
        assert [e.accuracy_mean for e in a.test_curve] == [e.accuracy_mean for e in b.test_curve]


@pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
def test_pool_runs_are_bit_identical_to_runs_in_this_process():
    configs = small_configs("gru")
    with TrainingPool(processes=2, runs_per_process=1) as pool:  # slot 0's worker is replaced
        pooled = pool.run(configs)
    assert [r.config.seed for r in pooled] == [0, 1, 2]
    assert_runs_of_this_process(pooled, configs)
    assert pooled[0].train_curve != pooled[1].train_curve  # the seeds differ


@pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
def test_a_replaced_child_gives_the_runs_of_this_process():
    configs = small_configs("basic_rnn")
    trainer = ChildTrainer(runs_per_process=2)  # a new child for the third run
    try:
        children = [trainer(configs[0]), trainer(configs[1].to_dict()), trainer(configs[2])]
    finally:
        trainer.close()
    assert_runs_of_this_process(children, configs)


def test_a_worker_must_train_at_least_one_run():
    with pytest.raises(ValueError, match="runs_per_process must be at least 1 or None, got 0"):
        TrainingPool(processes=2, runs_per_process=0)


@pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
def test_exchange_runs_trained_by_another_process_are_bit_identical(tmp_path):
    folder = RunExchange.create(tmp_path)
    helper = subprocess.Popen([sys.executable, "-c", (
        "import sys; from rnn_models.parallel import RunExchange; "
        "from rnn_models.parallel.local import train_here; "
        "RunExchange(sys.argv[1], 'helper').join().help(train_here)"), str(folder)])
    here = RunExchange(folder, "here").join()
    mine = []

    def train(config_dict):  # waits until the helper holds a job, so both processes train
        deadline = time.monotonic() + 300
        while not any(p.name.split(".")[-2] != str(os.getpid()) for p in (folder / "claimed").iterdir()):
            assert time.monotonic() < deadline and helper.poll() is None, "the helper claimed nothing"
            time.sleep(0.1)
        mine.append(config_dict["seed"])
        return train_here(config_dict)

    configs = small_configs("gru")
    try:
        exchanged = here.run(configs, train)
        here.help(train_here)
        assert helper.wait(timeout=60) == 0
    finally:
        helper.kill()
    assert 0 < len(mine) < 3  # some runs came from the other process
    assert_runs_of_this_process(exchanged, configs)
