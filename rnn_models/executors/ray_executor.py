"""``RayExecutor``: training runs as tasks of a Ray cluster, for a team whose accuracy gate
outgrows one machine (``pip install "rnn_models[ray]"``, then ``--ray-address``).

What a run needs is said where its task is declared, with Ray's own options: ``num_cpus``
per run; ``max_calls``, after which a worker process is replaced, bounding what TensorFlow
keeps of each run (as the local pool replaces its workers); ``max_retries``, how often a run
whose worker process died (killed, out of memory, its host lost) is trained again. Its
``runtime_env`` sets, before a worker process starts and so before TensorFlow loads, the
numerics pin (``numerics_pin.pin_variables``), TensorFlow's thread pools sized to the run's
CPUs, and the variant; Ray gives a task only a worker of its own runtime_env, so a process
never mixes variants.

The code under test goes with the runs: connecting ships this ``rnn_models`` package
(``py_modules``), so every host trains the driver's code, not the version it has installed.
Its Python packages must match (TensorFlow's version decides the bits; each result records it).

The data goes once: MNIST is loaded and verified here, put into the cluster's object store
with ``ray.put`` and passed by reference. It crosses the network once per host, never per
run; a host needs no copy of its own (nor a download); every run trains on the arrays checked
here. A worker process fetches them once, a view of its host's shared memory, and keeps them
and their prepared splits for its life (``rnn_models.executors.local``).

A run is a streaming task that first yields its host, then its result, so a failure names
the run's cell, seed and host in one line (``RunFailed``), and a run's time limit counts from
its start, not from its wait in the cluster's queue. A run retried after its host was lost
(``max_retries``) goes on in the same stream, which Ray keeps from its first try's host: its
result fills the run's own place in the batch, so each seed counts once (tests/integration/test_ray_nodes.py).
"""

import os
import socket
import time
from pathlib import Path

import ray

import rnn_models
from rnn_models.executors.executor import (RUNS_PER_CHILD, Executor, ResultReporter, on_loopback, one_line,
                                           overrun, run_failed, stop_requested)
import rnn_models.executors.local as local
from rnn_models.machine import numerics_pin
from rnn_models.machine.cpu import thread_variables

CPUS_PER_RUN = 1  # one core trains a run about as fast as two (docs/decisions.md): a run a core
MAX_RETRIES = 2  # a run whose worker process or host dies is trained again, twice at most
POLL_S = 2.0  # a wait's bound between checks of the runs' time limits
PASSED_ON = ("TF_CPP_MIN_LOG_LEVEL",)  # TensorFlow's log level: Ray brings the workers' logs here
VARIANT_VARIABLE = "RNN_MODELS_VARIANT"  # the variant a worker process applies before its first run

_PROCESS = {}  # in a Ray worker: filled once the process is ready for runs


def _host():
    return f"{socket.gethostname()} ({ray.util.get_node_ip_address()})"


def _make_ready():
    """A worker process's preparation, once: the pin checked, the variant applied."""
    if _PROCESS:
        return
    numerics_pin.apply()  # a no-op under runtime_env's pin; raises if TensorFlow loaded without it
    variant = os.environ.get(VARIANT_VARIABLE)
    if variant:
        from rnn_models.training.variants import apply_variant

        apply_variant(variant)
    _PROCESS["variant"] = variant


def train_run(config, mnist, task=None):
    """A run as a Ray task: yields its host as it starts, then the RunResult's dict (or what
    ``task``, a test's stand-in, returns). ``mnist`` is ``[ObjectRef]`` of the driver's
    MnistArrays, in a list so that Ray passes the reference and the process fetches it once."""
    yield _host()
    _make_ready()
    if task is not None:
        yield task(config)
        return
    ref = mnist[0]
    yield local.train_here(config, f"ray object {ref.hex()}", lambda: ray.get(ref)).to_dict()


class _Run:
    """One run of a batch: its config, its task's stream, and where and when it started."""

    def __init__(self, position, config, expected_s):
        self.position, self.config, self.expected_s = position, config, expected_s
        self.stream = self.host = self.started = None


class RayExecutor(Executor):
    """Runs as tasks of the Ray cluster at ``address`` (``auto`` or ``HOST:PORT``); a process
    already connected to Ray keeps its connection. The first ``run`` connects, ships the code
    and puts MNIST; ``close()`` disconnects what it connected. ``data_path``, ``variant`` and
    ``expected_s`` and ``pin`` are ``TrainingPool``'s; ``runs_per_process`` is Ray's ``max_calls``;
    ``task``: what a worker does with a config dict instead of training it, a module-level
    function, for tests."""

    def __init__(self, address, data_path=None, variant=None, expected_s=None, pin=True,
                 runs_per_process=RUNS_PER_CHILD, task=None):
        self.address, self.data_path, self.expected_s, self.task = address, data_path, expected_s, task
        unpinned = {numerics_pin.DISABLE_VARIABLE: "1"}  # the pin's choice when it is off
        env = {**numerics_pin.pin_variables(os.environ if pin else unpinned),
               **thread_variables(CPUS_PER_RUN),
               **{key: os.environ[key] for key in PASSED_ON if key in os.environ}}
        if variant:
            env[VARIANT_VARIABLE] = variant
        self._train = ray.remote(num_cpus=CPUS_PER_RUN, max_calls=runs_per_process, max_retries=MAX_RETRIES,
                                 num_returns="streaming", runtime_env={"env_vars": env})(train_run)
        self._mnist = None  # MNIST's ObjectRef, once put
        self._connected = False  # whether this executor connected, and so disconnects

    def _connect(self):
        if not ray.is_initialized():
            code = str(Path(rnn_models.__file__).parent)  # this package, shipped to every host
            # A loopback cluster's driver joins on 127.0.0.1 too (Ray's pick: the interface address).
            here = {"_node_ip_address": "127.0.0.1"} if on_loopback(self.address) else {}
            ray.init(address=self.address, runtime_env={"py_modules": [code]}, **here)
            self._connected = True
        if self._mnist is None and self.task is None:
            self._mnist = ray.put(local.mnist(self.data_path))

    def run(self, configs, on_result=None, stop=None):
        """Trains ``configs`` (TrainConfigs or their dicts); a RunFailed cancels the others."""
        self._connect()
        runs = []
        for position, config in enumerate(configs):
            config = config if isinstance(config, dict) else config.to_dict()
            runs.append(_Run(position, config, self.expected_s(config) if self.expected_s else None))
            runs[-1].stream = self._train.remote(config, [self._mnist], self.task)
        results, pending = [None] * len(runs), list(runs)
        report = ResultReporter(results, on_result, self.task is None)
        try:
            while pending:
                ready, _ = ray.wait([r.stream for r in pending], num_returns=1, timeout=POLL_S)
                for run in [r for r in pending if r.stream in ready]:
                    if self._receive(run, results, len(pending) - 1):
                        pending.remove(run)
                report.new()
                now = time.monotonic()
                for run in pending:
                    why = overrun(run.started, run.expected_s, now) if run.started else None
                    if why:
                        raise run_failed(run.config, why, len(pending) - 1, run.host)
                stop_requested(stop, len(pending))
        except BaseException:
            for run in pending:  # failed or interrupted: nothing of the batch goes on
                ray.cancel(run.stream, force=True)
            raise
        return report.all()

    def _receive(self, run, results, others):
        """Takes ``run``'s next item: its host, or its result (True: it is done)."""
        try:
            item = ray.get(next(run.stream))
        except ray.exceptions.RayTaskError as err:  # the run raised: the worker sent its exception
            raise run_failed(run.config, f"raised {one_line(err.cause)}", others, run.host) from None
        except ray.exceptions.WorkerCrashedError:
            raise run_failed(run.config, f"its worker process died in each of its {MAX_RETRIES + 1} tries",
                             others, run.host) from None
        except ray.exceptions.RayError as err:  # e.g. its host lost, its environment not set up
            raise run_failed(run.config, one_line(err), others, run.host) from None
        if run.host is None:
            run.host, run.started = item, time.monotonic()
            return False
        results[run.position] = item
        return True

    def close(self):
        self._mnist = None
        if self._connected:
            ray.shutdown()
            self._connected = False
