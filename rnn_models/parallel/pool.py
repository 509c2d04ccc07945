"""``TrainingPool``: training runs spread over worker processes that this process starts,
each pinned to its share of the cores (``rnn_models.suite.pin_process``), so that
independent seeds train side by side.

Training is bit-identical for any thread count here (docs/decisions.md), so a run from the
pool equals the same run trained alone. A worker loads MNIST once and keeps each task's
prepared data (``rnn_models.parallel.local``); a run's RunResult comes back as its dict.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

_STATE = {}  # in a worker: where its MNIST is


def _start_worker(counter, count, data_path, variant):
    with counter.get_lock():
        index = counter.value
        counter.value += 1
    from rnn_models.suite import pin_process

    pin_process(index, count)  # before TensorFlow is imported
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
    (default: one per usable core). ``variant`` is a code change each worker makes first
    (``rnn_models.regression.accuracy_check``). Use as a context manager, or ``close()``."""

    def __init__(self, processes=None, data_path=None, variant=None):
        self.processes = processes or usable_cores()
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: pinned before TF loads
        self._executor = ProcessPoolExecutor(
            self.processes, mp_context=ctx, initializer=_start_worker,
            initargs=(ctx.Value("i", 0), self.processes, data_path, variant))

    def run(self, configs):
        from rnn_models.results import RunResult

        futures = [self._executor.submit(_train, config.to_dict()) for config in configs]
        return [RunResult.from_dict(future.result()) for future in futures]

    def close(self):
        self._executor.shutdown(cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
