"""Seconds per compiled train and inference step, per cell and device.

pytest-benchmark times and stores each step (``rnn_models.speed.measure``); with
``--benchmark-compare`` the speed gate also times it against the baseline commit's code in
the same run (``rnn_models.speed.gate``), and fails on a significant slowdown.
"""

import pytest

from rnn_models.config import PHASES
from rnn_models.speed import torch_reference
from rnn_models.speed.measure import ROUNDS, measure_step
from rnn_models.speed.records import reference_extra_info
from rnn_models.suite.matrix import speed_config

pytestmark = pytest.mark.speed


def pytest_benchmark_timer(benchmark):
    """``timer(fn, rounds) -> [seconds]`` through pytest-benchmark, which keeps the record."""
    def timer(fn, rounds):
        benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
        return list(benchmark.stats.stats.data)

    return timer


@pytest.mark.parametrize("phase", PHASES)
def test_step_speed(benchmark, all_cells, cell, device, phase, real_batch, gemm_rate, speed_gate,
                    speed_results, request):
    benchmark.group = f"{cell} {device}"  # the table reads cell by cell
    rate = gemm_rate(device)  # timed on its first call: before any worker builds
    if speed_gate is not None:
        speed_gate.prepare(cell, phase, device, real_batch)  # its workers build while this process does
    result = measure_step(speed_config(cell), device, phase, real_batch, timer=pytest_benchmark_timer(benchmark),
                          gemm_rate=rate, before_timing=speed_gate and speed_gate.wait_built)
    benchmark.extra_info.update(result.extra_info())
    speed_results.append(result)
    assert result.loss == result.loss and result.loss > 0  # a finite loss: the step did real work
    if speed_gate is not None:
        outcome = speed_gate.check(request.node.name, result, real_batch)
        benchmark.extra_info.update(outcome.extra_info())
        assert not outcome.fails, f"speed regression ({outcome.mode}): {outcome.detail}"


@pytest.mark.parametrize("phase", PHASES)
def test_torch_reference_speed(benchmark, cell, phase, real_batch):
    """The PyTorch equivalent alone, in the cell's group of the table."""
    if not torch_reference.available():
        pytest.skip("torch is not installed (pip install -e '.[torch]')")
    step = torch_reference.torch_step(speed_config(cell), *real_batch, phase)
    benchmark.group = f"{cell} CPU:0"
    benchmark.extra_info.update(reference_extra_info(cell, phase))
    loss = benchmark.pedantic(step, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    assert loss == loss and loss > 0
