"""Seconds per compiled train and inference step, per cell and device, through
pytest-benchmark; compared with baselines/benchmarks by ``--benchmark-compare``.

Beside each cell's own timing, measured in the same run: its PyTorch equivalent (when
torch is installed), as a median of per-round ratios over alternating rounds, and the
matmul-throughput limit of its step (its matmul FLOPs at the GEMM rate measured now).
"""

import keras
import pytest
import tensorflow as tf

from rnn_models import torch_reference
from rnn_models.baseline import Row, format_table
from rnn_models.config import TUTORIAL
from rnn_models.environment import kernel_path
from rnn_models.flops import inference_flops, train_flops
from rnn_models.model import build_model
from rnn_models.steps import PHASES, make_step
from rnn_models.suite import speed_config
from rnn_models.timing import alternating_ratio, matmul_rate

WARMUP_STEPS = 5  # the first call traces and compiles; a few more settle the allocator
ROUNDS = 60
RATIO_ROUNDS = 40


@pytest.fixture(scope="session")
def real_batch(sequence_data):
    """One batch of real MNIST rows: x [128, 28, 28] float32, y [128] int32."""
    data = sequence_data(TUTORIAL)
    n = TUTORIAL.batch_size
    return data.inputs(data.pixels_train[:n]), data.y_train[:n]


@pytest.fixture(scope="session")
def gemm_rate():
    """FLOP/s of the tutorial's gate matmul for all 28 steps at once, [128*28, 59] @ [59, 124]:
    the throughput this machine reaches at these sizes, measured once per session."""
    rates = {}

    def get(device):
        if device not in rates:
            c = TUTORIAL
            rates[device] = matmul_rate(c.batch_size * 28, 28 + c.units, 4 * c.units, device)
        return rates[device]

    return get


def step_flops(model, config, phase):
    return (train_flops if phase == "train" else inference_flops)(model, config.batch_size)


@pytest.mark.parametrize("phase", PHASES)
def test_step_speed(benchmark, all_cells, cell, device, phase, real_batch, gemm_rate, session_results,
                    stored_speed_run, torch_ratio_gate, update_baselines, request):
    config = speed_config(cell)
    keras.utils.set_random_seed(config.seed)  # the same initial weights every run
    with tf.device(device):
        model = build_model(config)
        step, flops = make_step(model, config, phase), step_flops(model, config, phase)
        x, y = tf.constant(real_batch[0]), tf.constant(real_batch[1])

        def run_step():
            return float(step(x, y)[0])  # reading the loss back syncs the device

        for _ in range(WARMUP_STEPS):
            run_step()
        benchmark.group = f"{cell} {device}"  # the table reads cell by cell
        loss = benchmark.pedantic(run_step, rounds=ROUNDS, iterations=1, warmup_rounds=0)
        median = benchmark.stats.stats.median
        limit = flops / gemm_rate(device)
        path = kernel_path(cell, device, config.use_xla, model.get_layer("rnn").unroll)
        info = dict(cell=cell, device=device, phase=phase, batch=config.batch_size, units=config.units,
                    kernel_path=path, flops_per_step=flops,
                    gflop_per_s=flops / median / 1e9, gemm_gflop_per_s=gemm_rate(device) / 1e9,
                    limit_s=limit, ratio_to_limit=median / limit)
        if torch_reference.available() and cell in torch_reference.TORCH_EQUIVALENTS and device.startswith("CPU"):
            torch_step = torch_step_for(config, real_batch, phase)
            ratio, _, torch_median = alternating_ratio(run_step, torch_step, RATIO_ROUNDS)
            info.update(ratio_to_torch=ratio, torch_median_s=torch_median,
                        torch_model=torch_reference.TORCH_EQUIVALENTS[cell])
    benchmark.extra_info.update(info)
    plotted = ("cell", "device", "phase", "ratio_to_torch", "ratio_to_limit")
    session_results["speed"].append({"median_s": median, **{k: info[k] for k in plotted if k in info}})
    assert loss == loss and loss > 0  # a finite loss: the timed step did real work
    stored = stored_speed_run.get(request.node.name, {}).get("ratio_to_torch")
    if "ratio_to_torch" in info and stored and torch_ratio_gate and not update_baselines:
        allowed = stored * torch_ratio_gate
        row = Row(cell, f"{phase} ratio_to_torch", stored, info["ratio_to_torch"], f"<= {allowed:.4f}",
                  info["ratio_to_torch"] <= allowed)
        assert row.ok, "speed regression against PyTorch, side by side:\n" + format_table([row])


def torch_step_for(config, real_batch, phase):
    import torch

    model = torch_reference.TorchModel(config, features=real_batch[0].shape[-1])
    x, y = torch.from_numpy(real_batch[0]), torch.from_numpy(real_batch[1]).long()
    step = model.train_step if phase == "train" else model.inference_step
    for _ in range(WARMUP_STEPS):
        step(x, y)
    return lambda: step(x, y)


@pytest.mark.parametrize("phase", PHASES)
def test_torch_reference_speed(benchmark, cell, phase, real_batch):
    """The PyTorch equivalent alone, in the cell's group of the table."""
    if not torch_reference.available():
        pytest.skip("torch is not installed (pip install -e '.[torch]')")
    step = torch_step_for(speed_config(cell), real_batch, phase)
    benchmark.group = f"{cell} CPU:0"
    benchmark.extra_info.update(reference="torch", torch_model=torch_reference.TORCH_EQUIVALENTS[cell],
                                phase=phase)
    loss = benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    assert loss == loss and loss > 0
