"""One cell's compiled step, built and timed in this process.

``build_step`` is also the contract the A/B worker (``rnn_models.speed.worker``) calls on
each side's code, so its signature stays stable: ``build_step(cell, phase, device, x, y)``
returning a ``TimedStep`` whose ``run()`` does one step and reads its loss back.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from rnn_models.machine.environment import kernel_path
from rnn_models.speed import torch_reference
from rnn_models.speed.flops import inference_flops, train_flops
from rnn_models.speed.records import plot_row, step_extra_info
from rnn_models.speed.timing import WARMUP_STEPS, alternating_ratio, time_rounds
from rnn_models.suite.matrix import speed_config
from rnn_models.training.model import build_model
from rnn_models.training.steps import make_step, traced_kernel_path

ROUNDS = 60  # timed rounds of the in-process measurement (pytest-benchmark's record)
RATIO_ROUNDS = 40  # alternating rounds against the PyTorch equivalent


@dataclasses.dataclass(frozen=True)
class TimedStep:
    """A warm compiled step: ``run()`` does one step on the fixed batch and returns the loss."""

    cell: str
    phase: str
    device: str
    batch: int
    units: int
    kernel_path: str
    flops: int
    run: object


def build_step(cell, phase, device, x, y):
    """The speed config's step of ``cell`` for ``phase`` on ``device``, warmed up.

    ``x`` ``[B, T, F]`` float32 and ``y`` ``[B]`` int32: the batch every round reuses (the
    step's time does not depend on the pixel values). The weights start from the
    config's seed, so each build is the same model.
    """
    config = speed_config(cell)
    keras.utils.set_random_seed(config.seed)
    with tf.device(device):
        model = build_model(config, device=device)
        step = make_step(model, config, phase)
        tx, ty = tf.constant(x), tf.constant(y)

    def run():
        with tf.device(device):
            return float(step(tx, ty)[0])  # reading the loss back waits for the step

    for _ in range(WARMUP_STEPS):
        run()
    flops = (train_flops if phase == "train" else inference_flops)(model, config.batch_size)
    with tf.device(device):  # the trace the runs used: cuDNN or not, as Keras chose
        path = traced_kernel_path(step, tx, ty, kernel_path(cell, device, config.use_xla,
                                                            model.get_layer("rnn").unroll))
    return TimedStep(cell, phase, device, config.batch_size, config.units, path, flops, run)


@dataclasses.dataclass(frozen=True)
class SpeedResult:
    """What ``measure_step`` found: the step's times and what they are relative to."""

    cell: str
    device: str
    phase: str
    batch: int
    units: int
    kernel_path: str
    flops_per_step: int
    median_s: float
    q1_s: float
    q3_s: float
    loss: float
    gemm_gflop_per_s: float | None = None
    torch_model: str | None = None
    ratio_to_torch: float | None = None
    torch_median_s: float | None = None

    @property
    def gflop_per_s(self):
        return self.flops_per_step / self.median_s / 1e9

    @property
    def limit_s(self):
        """The step's matmul FLOPs at the GEMM rate measured in the same run."""
        return None if not self.gemm_gflop_per_s else self.flops_per_step / (self.gemm_gflop_per_s * 1e9)

    @property
    def ratio_to_limit(self):
        return None if self.limit_s is None else self.median_s / self.limit_s

    def extra_info(self):
        """The record pytest-benchmark stores beside the timing (``speed.records``)."""
        return step_extra_info(self)

    def plot_rows(self):
        """Rows for ``rnn_models.plots.plot_speed``: this step, and its PyTorch reference."""
        rows = [plot_row(self.cell, self.device, self.phase, "rnnbench", self.median_s, self.q1_s, self.q3_s,
                         self.ratio_to_torch, self.ratio_to_limit)]
        if self.torch_median_s is not None:
            rows.append(plot_row(self.cell, self.device, self.phase, "torch", self.torch_median_s))
        return rows


def measure_step(config, device, phase, batch, *, timer=time_rounds, gemm_rate=None,
                 with_torch=True, before_timing=None):
    """Times ``config.cell``'s compiled ``phase`` step on ``device``.

    ``batch`` is ``(x, y)``; ``timer(fn, rounds) -> [seconds]`` does the timing (the suite
    passes pytest-benchmark's); ``gemm_rate`` (FLOP/s) gives the matmul limit; with
    ``with_torch`` and torch installed, the median per-round ratio to the registry's PyTorch
    equivalent over alternating rounds is measured too (CPU only). ``before_timing()`` is
    called once the step is built, before anything is timed (the speed gate's workers finish
    their builds there).
    """
    x, y = batch
    step = build_step(config.cell, phase, device, x, y)
    if before_timing is not None:
        before_timing()
    loss = step.run()
    times = timer(step.run, ROUNDS)
    q1, median, q3 = np.percentile(times, [25, 50, 75])
    torch_fields = {}
    equivalent = torch_reference.equivalent(config.cell)
    if with_torch and equivalent and torch_reference.available() and device.upper().startswith("CPU"):
        torch_step = torch_reference.torch_step(config, x, y, phase)
        ratio, _, torch_median = alternating_ratio(step.run, torch_step, RATIO_ROUNDS)
        torch_fields = dict(torch_model=equivalent, ratio_to_torch=ratio, torch_median_s=torch_median)
    return SpeedResult(
        cell=config.cell, device=device, phase=phase, batch=step.batch, units=step.units,
        kernel_path=step.kernel_path, flops_per_step=step.flops, median_s=float(median),
        q1_s=float(q1), q3_s=float(q3), loss=loss,
        gemm_gflop_per_s=None if gemm_rate is None else gemm_rate / 1e9, **torch_fields)
