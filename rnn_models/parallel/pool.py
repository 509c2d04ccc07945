"""``TrainingPool``: training runs spread over worker processes that this process starts,
each pinned to its slot's share of the cores (``rnn_models.suite.pin_process``), so that
independent seeds train side by side.

Training is bit-identical for any thread count here (docs/decisions.md), so a run from the
pool equals the same run trained alone. A worker loads MNIST once and keeps each task's
prepared data (``rnn_models.parallel.local``); a run's RunResult comes back as its dict.
A slot's worker is replaced every ``RUNS_PER_CHILD`` runs, since TensorFlow keeps part of every
run for the process's life (docs/decisions.md); the new worker takes the same cores.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

_STATE = {}  # in a worker: where its MNIST is
RUNS_PER_CHILD = 5  # a worker's runs before it is replaced: bounds what TF keeps (docs/decisions.md)


def _start_worker(slot, count, data_path, variant):
    from rnn_models.suite import pin_process

    pin_process(slot, count)  # before TensorFlow is imported
    if variant:
        from rnn_models.regression.accuracy_check import apply_variant

        apply_variant(variant)
    _STATE["data_path"] = data_path


def _train(config_dict):
    from rnn_models.parallel.local import train_here

    return train_here(config_dict, _STATE["data_path"]).to_dict()


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class TrainingPool:
    """``run(configs) -> [RunResult]`` in the configs' order, ``processes`` at a time
    (default: one per usable core), dealt to the slots in turn. ``variant`` is a code change
    each worker makes first (``rnn_models.regression.accuracy_check``). ``runs_per_process``
    (None: never) replaces a slot's worker after that many runs. Use as a context manager, or
    ``close()``."""

    def __init__(self, processes=None, data_path=None, variant=None, runs_per_process=RUNS_PER_CHILD):
        self.processes = processes or usable_cores()
        if runs_per_process is not None and runs_per_process < 1:
            raise ValueError(f"runs_per_process must be at least 1 or None, got {runs_per_process}")
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: pinned before TF loads
        # One executor a slot, so that a replaced worker is pinned to its predecessor's cores.
        self._executors = [
            ProcessPoolExecutor(1, mp_context=ctx, initializer=_start_worker,
                                initargs=(slot, self.processes, data_path, variant),
                                max_tasks_per_child=runs_per_process)
            for slot in range(self.processes)]

    def run(self, configs):
        from rnn_models.results import RunResult

        futures = [self._executors[k % self.processes].submit(_train, config.to_dict())
                   for k, config in enumerate(configs)]
        return [RunResult.from_dict(future.result()) for future in futures]

    def close(self):
        for executor in self._executors:
            executor.shutdown(cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ChildTrainer:
    """``trainer(config) -> RunResult`` (a TrainConfig or its dict), trained in a child process
    pinned to this process's cores, so that this process's peak memory stays that of its own
    runs (the budget checks it after each). The child starts on first use, is replaced every
    ``runs_per_process`` runs and after it dies; ``close()`` ends it."""

    def __init__(self, runs_per_process=RUNS_PER_CHILD, data_path=None):
        self.runs_per_process, self.data_path, self._pool = runs_per_process, data_path, None

    def __call__(self, config):
        from rnn_models.config import TrainConfig

        if isinstance(config, dict):
            config = TrainConfig.from_dict(config)
        if self._pool is None:
            self._pool = TrainingPool(1, self.data_path, runs_per_process=self.runs_per_process)
        try:
            return self._pool.run([config])[0]
        except BrokenProcessPool:
            self.close()  # the next run starts a new child
            raise

    def close(self):
        if self._pool is not None:
            self._pool.close()
            self._pool = None
