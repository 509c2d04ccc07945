"""``train_and_evaluate(config) -> RunResult``: the tutorial's training run for any cell."""

import math
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from rnn_models.data import Batches, load_mnist, prepare, task_shape
from rnn_models.machine import environment
from rnn_models.records.results import NonFinite, RunResult, TestEpoch, TrainWindow
from rnn_models.training.model import build_model
from rnn_models.training.progress import ConsoleProgress
from rnn_models.training.steps import make_optimizer, make_test_step, make_train_step
from rnn_models.training.tensorboard import TensorBoardLog


class NonFiniteGradientError(FloatingPointError):
    """Raised in check_numerics mode at the first step with a non-finite gradient."""

    def __init__(self, nonfinite, result):
        self.nonfinite = nonfinite
        self.result = result  # the run up to that step, for the record
        loss = "finite" if nonfinite.loss_finite else "not finite"
        super().__init__(
            f"check_numerics: non-finite gradient at epoch {nonfinite.epoch}, step "
            f"{nonfinite.step} (loss {loss}) for: {', '.join(nonfinite.variables)}"
        )


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``result`` is the run up to there, marked ``interrupted``."""

    def __init__(self, result):
        self.result = result
        super().__init__(f"interrupted after step {result.steps}")


def prepare_for(config, arrays):
    """``arrays`` (MnistArrays) shaped for ``config.task``, split as ``config.split``."""
    return prepare(arrays, task=config.task, split=config.split, standardize=config.standardize)


def load_data(config, data_path=None):
    """The run's data: real MNIST (see ``load_mnist`` for where it looks), prepared for
    ``config``."""
    return prepare_for(config, load_mnist(data_path))


def train_and_evaluate(config, data=None, *, data_path=None, device=None, logdir=None,
                       progress=None):
    """Trains ``config.cell`` as the tutorial did and tests it after every epoch.

    ``data`` is a ``SequenceData`` (loaded from ``data_path`` when None); ``device`` a
    TensorFlow device string (default: the GPU if any, else the CPU); ``logdir`` turns on
    TensorBoard scalars; ``progress`` receives log lines and step updates (default: quiet).
    A non-finite loss or gradient ends the run there and is recorded in the result; with
    ``config.check_numerics`` it raises ``NonFiniteGradientError`` naming the variables.
    Ctrl-C raises ``RunInterrupted`` (a KeyboardInterrupt) carrying the partial result.
    """
    data = data if data is not None else load_data(config, data_path)
    if (data.timesteps, data.features) != task_shape(config.task):
        raise ValueError(
            f"data has shape [*, {data.timesteps}, {data.features}] but config.task="
            f"{config.task!r} needs {list(task_shape(config.task))}."
        )
    device = device or environment.default_device()
    progress = progress or ConsoleProgress(enabled=False)
    started = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    with tf.device(device):
        run = _Run(config, data, device, logdir, progress)
        run.fit()
    result = run.result(time.perf_counter() - started)
    if result.interrupted:
        raise RunInterrupted(result)
    if config.check_numerics and result.nonfinite is not None:
        raise NonFiniteGradientError(result.nonfinite, result)
    return result


class _Run:
    """The state of one run; ``fit`` fills the curves."""

    def __init__(self, config, data, device, logdir, progress):
        self.config, self.device, self.progress = config, device, progress
        self.model = build_model(config, device=device)
        self.variables = [v.path for v in self.model.trainable_variables]
        self.train_step = make_train_step(self.model, make_optimizer(config), config)
        self.test_step = make_test_step(self.model, config)
        self.kernel_path = environment.kernel_path(config.cell, device, config.use_xla,
                                                   self.model.get_layer("rnn").unroll)
        batch = config.batch_size
        self.train_data = Batches(data.pixels_train, data.y_train, batch_size=batch, shuffle=True,
                                  seed=config.seed, transform=data.inputs)
        self.test_data = Batches(data.pixels_test, data.y_test, batch_size=batch, shuffle=False,
                                 transform=data.inputs)
        self.steps_per_epoch = _steps(self.train_data.steps, config.steps_per_epoch)
        self.test_steps = _steps(self.test_data.steps, config.test_steps)
        self.tensorboard = TensorBoardLog(logdir, config.cell) if logdir else None
        self.train_curve, self.test_curve = [], []
        self.train_times, self.test_times = [], []
        self.input_wait = 0.0
        self.step = 0
        self.max_grad_norm = 0.0
        self.nonfinite = None
        self.interrupted = False

    def fit(self):
        self.window, self.epoch = [], 1
        try:
            self._fit()
        except KeyboardInterrupt:
            self.interrupted = True  # the partial result is kept; the caller re-raises
            if self.window:
                self._log_window(self.epoch, self.window)

    def _fit(self):
        window = self.window
        for epoch in range(1, self.config.epochs + 1):
            self.epoch = epoch
            self.progress.start_epoch(epoch, self.steps_per_epoch)
            batches = self.train_data.epoch(epoch, self.steps_per_epoch)
            for _ in range(self.steps_per_epoch):
                x, y = self._next(batches)
                loss, accuracy, grad_norm, finite = self._timed(self.train_step, x, y,
                                                                self.train_times)
                self.step += 1
                window.append((loss, accuracy))
                self.max_grad_norm = max(self.max_grad_norm, float(grad_norm))
                self.progress.update(self.step, loss)
                if not (math.isfinite(loss) and finite.all()):
                    self.nonfinite = NonFinite(
                        epoch, self.step, math.isfinite(loss),
                        tuple(v for v, ok in zip(self.variables, finite) if not ok),
                    )
                if len(window) == self.config.log_every or self.nonfinite:
                    self._log_window(epoch, window)
                    window.clear()
                if self.nonfinite:
                    named = ", ".join(self.nonfinite.variables) or "no variable"
                    self.progress.line(f"[nan] ep {epoch}, step {self.step}: loss {loss}, "
                                       f"non-finite gradient for {named}; stopping")
                    return
            if window and epoch == self.config.epochs:
                self._log_window(epoch, window)
                window.clear()
            self._test(epoch)

    def _next(self, batches):
        waited = time.perf_counter()
        batch = next(batches)
        self.input_wait += time.perf_counter() - waited
        return batch

    @staticmethod
    def _timed(step, x, y, times):
        start = time.perf_counter()
        loss, accuracy, *rest = step(x, y)
        loss = float(loss)  # reading the loss back waits for the step to finish
        times.append(time.perf_counter() - start)
        return (loss, float(accuracy), *(np.asarray(t) for t in rest))

    def _log_window(self, epoch, window):
        losses, accuracies = zip(*window)
        seconds = statistics.median(self.train_times[-len(window):])
        record = TrainWindow(epoch, self.step, float(np.mean(losses)), float(np.mean(accuracies)),
                             float(np.min(accuracies)), seconds)
        self.train_curve.append(record)
        self.progress.line(f"[trn] ep {epoch}, step {self.step}, loss {record.loss:.5f}, "
                           f"accu {record.accuracy_min:.5f}, sec/iter {seconds:.5f}")
        if self.tensorboard:
            self.tensorboard.train(record)

    def _test(self, epoch):
        losses, accuracies, times = [], [], []
        batches = self.test_data.epoch(0, self.test_steps)
        for _ in range(self.test_steps):
            x, y = self._next(batches)
            loss, accuracy = self._timed(self.test_step, x, y, times)
            losses.append(loss)
            accuracies.append(accuracy)
        self.test_times.extend(times)
        record = TestEpoch(epoch, self.step, float(np.mean(losses)), float(np.mean(accuracies)),
                           float(np.min(accuracies)), statistics.median(times))
        self.test_curve.append(record)
        self.progress.line(f"[tst] ep {epoch}, step {self.step}, loss {record.loss:.5f}, "
                           f"accu {record.accuracy_mean:.5f} (min batch {record.accuracy_min:.5f}), "
                           f"sec/iter {record.sec_per_iter:.5f}")
        if self.tensorboard:
            self.tensorboard.test(record)

    def result(self, wall_time):
        return RunResult(
            config=self.config,
            device=environment.describe_device(self.device),
            kernel_path=self.kernel_path,
            versions=environment.versions(),
            train_curve=tuple(self.train_curve),
            test_curve=tuple(self.test_curve),
            train_sec_per_iter=_median(self.train_times),
            test_sec_per_iter=_median(self.test_times),
            wall_time_s=wall_time,
            input_wait_s=self.input_wait,
            steps=self.step,
            max_grad_norm=self.max_grad_norm,
            nonfinite=self.nonfinite,
            peak_rss_bytes=environment.peak_rss_bytes(),
            interrupted=self.interrupted,
            fingerprint=environment.fingerprint(self.device),
        )


def _steps(available, limit):
    if available == 0:
        raise ValueError("Fewer examples than one batch: nothing to train or test on.")
    return available if limit is None else min(limit, available)


def _median(times):
    return statistics.median(times) if times else math.nan
