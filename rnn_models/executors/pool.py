"""``TrainingPool``, the local executor (``rnn_models.executors.executor``): training runs
spread over worker processes that this process starts, each pinned to its slot's share of the
cores (``rnn_models.machine.cpu.pin_process``) and started under the numerics pin
(``rnn_models.machine.numerics_pin``), so that independent seeds train side by side with the bits of
any other AVX2 machine.

Training is bit-identical for any thread count here (docs/decisions.md), so a run from the
pool equals the same run trained alone in a pinned process. A worker loads MNIST once and
keeps each task's prepared data (``rnn_models.executors.local``). A slot's worker is replaced
every ``runs_per_process`` runs, since TensorFlow keeps part of every run for the process's
life (docs/decisions.md); the new worker takes the same cores.

The pool drives its workers itself over pipes, without ``concurrent.futures``: Python 3.11's
``ProcessPoolExecutor(max_tasks_per_child=N)`` waits forever once a worker reaches N tasks
with more queued (CPython gh-115634). Every wait here has a bound: a worker that dies, stops
sending its heartbeat, or trains far longer than expected ends the batch with a
``RunFailed`` naming the run; the batch's other runs are stopped, since a look of the
accuracy gate is judged on all its seeds or not at all.
"""

import collections
import multiprocessing
import os
import threading
import time
from multiprocessing.connection import wait

from rnn_models.executors.executor import (RUNS_PER_CHILD, Executor, ResultReporter, one_line, overrun,
                                           run_failed, stop_requested)
from rnn_models.machine.cpu import usable_cores

HEARTBEAT_S = 2.0  # a worker's heartbeat period
SILENCE_LIMIT_S = 300.0  # no heartbeat for this long: the worker is stuck (150 periods)

_STATE = {}  # in a worker: where its MNIST is


def _train(config_dict):
    from rnn_models.executors.local import train_here

    return train_here(config_dict, _STATE["data_path"]).to_dict()


def _worker(conn, slot, count, data_path, variant, pin, task, heartbeat_s):
    """A worker's life: pinned before TensorFlow loads, then runs until told to stop."""
    from rnn_models.machine import numerics_pin
    from rnn_models.machine.cpu import pin_process

    if pin:
        numerics_pin.apply()
    pin_process(slot, count)
    if variant:
        from rnn_models.training.variants import apply_variant

        apply_variant(variant)
    _STATE["data_path"] = data_path
    lock, stop = threading.Lock(), threading.Event()

    def send(message):
        with lock:
            conn.send(message)

    def beat():
        while not stop.wait(heartbeat_s):
            try:
                send(("alive", None))
            except OSError:  # the parent is gone (killed): no one will take this run
                os._exit(1)

    threading.Thread(target=beat, daemon=True).start()
    try:
        while (job := conn.recv()) is not None:
            try:
                send(("done", (task or _train)(job)))
            except Exception as err:  # reported to the parent, which names the run
                send(("error", one_line(err)))
    except (EOFError, KeyboardInterrupt):  # the parent is gone or stopping us
        pass
    finally:
        stop.set()


class _Slot:
    """One slot's worker process and the run it trains."""

    def __init__(self, pool, index):
        self.pool, self.index = pool, index
        self.process = self.conn = None
        self.runs = 0  # runs the current worker has taken
        self.job = None  # (position, config dict, started, expected seconds) while training
        self.heard = 0.0  # when the worker last said anything

    def start(self):
        pool = self.pool
        conn, child = pool.ctx.Pipe()
        process = pool.ctx.Process(
            target=_worker, daemon=True, name=f"rnnbench-train-{self.index}",
            args=(child, self.index, pool.processes, pool.data_path, pool.variant, pool.pin,
                  pool.task, pool.heartbeat_s))
        try:
            process.start()
        except BaseException:
            conn.close()
            raise
        finally:
            child.close()
        self.process, self.conn, self.runs = process, conn, 0  # only a started worker is stopped later

    def give(self, position, config, expected_s):
        if self.process is None or self.runs >= (self.pool.runs_per_process or float("inf")):
            self.stop()
            self.start()
        self.conn.send(config)
        self.runs += 1
        self.job = (position, config, time.monotonic(), expected_s)
        self.heard = self.job[2]

    def stop(self, kill=False):
        """Ends the worker: asked to stop, else (or when ``kill``) killed; always reaped."""
        if self.process is None:
            return
        if not kill:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self.process = self.conn = self.job = None


class TrainingPool(Executor):
    """The local executor: ``run(configs) -> [RunResult]`` in the configs' order, ``processes``
    at a time (default: one per usable core), each run given to the next free slot.

    - ``variant``: a code change each worker makes first (``rnn_models.selfcheck.accuracy_check``).
    - ``runs_per_process`` (None: never): a slot's worker is replaced after that many runs.
    - ``pin``: the numerics pin in the workers (accuracy runs); False for the machine's own kernels.
    - ``expected_s(config_dict) -> seconds | None``: a run's expected time; it fails at
      ``TIMEOUT_FACTOR`` times that (``rnn_models.executors.executor``, plus a worker's start).
      None: only the heartbeat bounds it.
    - ``task``: what a worker does with a config dict (default: train it), a module-level
      function, for tests.
    Use as a context manager, or ``close()``: no worker outlives it."""

    def __init__(self, processes=None, data_path=None, variant=None, runs_per_process=RUNS_PER_CHILD,
                 pin=True, expected_s=None, task=None, heartbeat_s=HEARTBEAT_S,
                 silence_limit_s=SILENCE_LIMIT_S):
        if runs_per_process is not None and runs_per_process < 1:
            raise ValueError(f"runs_per_process must be at least 1 or None, got {runs_per_process}")
        self.processes = processes or usable_cores()
        self.data_path, self.variant, self.runs_per_process = data_path, variant, runs_per_process
        self.pin, self.expected_s, self.task = pin, expected_s, task
        self.heartbeat_s, self.silence_limit_s = heartbeat_s, silence_limit_s
        self.ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: pinned before TF loads
        self._slots = [_Slot(self, k) for k in range(self.processes)]

    def run(self, configs, on_result=None, stop=None):
        """Trains ``configs`` (TrainConfigs or their dicts); a RunFailed stops the others."""
        dicts = [c if isinstance(c, dict) else c.to_dict() for c in configs]
        expected = [self.expected_s(d) if self.expected_s else None for d in dicts]
        waiting = collections.deque(range(len(dicts)))
        results = [None] * len(dicts)
        report = ResultReporter(results, on_result, self.task is None)
        try:
            while waiting or any(s.job for s in self._slots):
                for slot in self._slots:
                    if slot.job is None and waiting:
                        position = waiting.popleft()
                        slot.give(position, dicts[position], expected[position])
                busy = [s for s in self._slots if s.job]
                wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=self.heartbeat_s)
                for slot in busy:
                    self._check(slot, results, len(waiting))
                report.new()
                stop_requested(stop, results.count(None))
        except BaseException:
            self.close(kill=True)  # interrupted or failed: no worker is left behind
            raise
        return report.all()

    def _check(self, slot, results, queued):
        position, config, started, expected_s = slot.job
        now = time.monotonic()
        why = None
        try:
            while slot.conn.poll():
                kind, payload = slot.conn.recv()
                slot.heard = now
                if kind == "done":
                    results[position], slot.job = payload, None
                    return
                if kind == "error":
                    why = f"raised {payload}"
                    break
        except (EOFError, OSError):
            pass  # the pipe closed: the worker died, said below
        if why is None:
            if not slot.process.is_alive():
                code = slot.process.exitcode
                how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                why = f"its worker process {slot.process.pid} died ({how})"
            elif now - slot.heard > self.silence_limit_s:
                why = f"its worker process {slot.process.pid} stopped answering for {now - slot.heard:.0f} s"
            else:
                why = overrun(started, expected_s, now)
                if why is None:
                    return
        raise run_failed(config, why, sum(1 for s in self._slots if s.job and s is not slot) + queued)

    def close(self, kill=False):
        for slot in self._slots:
            slot.stop(kill=kill)

