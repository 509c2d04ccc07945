"""Seconds per compiled train and inference step, per cell and device, through
pytest-benchmark; compared with baselines/benchmarks by ``--benchmark-compare``."""

import pytest
import tensorflow as tf

from rnn_models.config import TUTORIAL
from rnn_models.environment import kernel_path
from rnn_models.flops import inference_flops, train_flops
from rnn_models.model import build_model
from rnn_models.registry import get_spec
from rnn_models.steps import make_optimizer, make_test_step, make_train_step
from rnn_models.suite import matrix_config

WARMUP_STEPS = 5  # the first call traces and compiles; a few more settle the allocator
ROUNDS = {"train": 60, "inference": 60}


def speed_config(cell):
    return matrix_config(cell) if get_spec(cell).tutorial else TUTORIAL.replace(cell=cell)


@pytest.fixture(scope="session")
def real_batch(sequence_data):
    """One batch of real MNIST rows: x [128, 28, 28] float32, y [128] int32."""
    data = sequence_data(TUTORIAL)
    n = TUTORIAL.batch_size
    return tf.constant(data.x_train[:n]), tf.constant(data.y_train[:n])


@pytest.mark.parametrize("phase", ["train", "inference"])
def test_step_speed(benchmark, all_cells, cell, device, phase, real_batch, session_results):
    config = speed_config(cell)
    with tf.device(device):
        model = build_model(config)
        if phase == "train":
            step = make_train_step(model, make_optimizer(config), config)
            flops = train_flops(model, config.batch_size)
        else:
            step = make_test_step(model, config)
            flops = inference_flops(model, config.batch_size)
        x, y = (tf.identity(t) for t in real_batch)

        def run_step():
            return float(step(x, y)[0])  # reading the loss back syncs the device

        for _ in range(WARMUP_STEPS):
            run_step()
        benchmark.group = f"{cell} {device}"  # the table reads cell by cell
        benchmark.extra_info.update(
            cell=cell, device=device, phase=phase, kernel_path=kernel_path(cell, device, config.use_xla),
            batch=config.batch_size, units=config.units, flops_per_step=flops,
        )
        loss = benchmark.pedantic(run_step, rounds=ROUNDS[phase], iterations=1, warmup_rounds=0)
    median = benchmark.stats.stats.median
    benchmark.extra_info["gflop_per_s"] = flops / median / 1e9
    session_results["speed"].append({"cell": cell, "device": device, "phase": phase, "median_s": median})
    assert loss == loss and loss > 0  # a finite loss: the timed step did real work
