"""Where training runs go: one interface, two backends, chosen by one value, the address.

An ``Executor`` trains a batch, ``run(configs) -> [RunResult]`` in the configs' order
(``on_result`` hears of each run as it finishes, so a stopped batch keeps its done runs; a set
``stop`` event ends the batch from another thread), and ``close()`` ends what it started (or
use it as a context manager). A run that does not
finish is a ``RunFailed`` in one line naming it, and the batch's other runs are stopped,
since a look of the accuracy gate is judged on all its seeds or not at all. The caller
never learns where a run trained:

- no address (the default): ``TrainingPool``, worker processes on this machine, each
  pinned to its cores and replaced every few runs (``rnn_models.executors.pool``);
- a Ray address, ``auto`` or ``HOST:PORT`` (``pip install "rnn_models[ray]"``):
  ``RayExecutor``, each run a task of that cluster (``rnn_models.executors.ray_executor``).
"""

import abc
import importlib.util
import ipaddress
import os
import re
import socket
import threading

ADDRESS_VARIABLE = "RNN_MODELS_RAY_ADDRESS"  # the address when no --ray-address is given
# Ray's local-only mode, read as Ray loads: "0" keeps a loopback address on loopback (on Linux Ray
# otherwise swaps 127.0.0.1 for the host's interface address, and binds every interface).
LOCAL_ONLY_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_ADDRESS = re.compile(r"^(auto|[\w.-]+:\d{1,5})$")
TIMEOUT_FACTOR = 10.0  # a run this many times its expected time is stuck, not slow
RUNS_PER_CHILD = 5  # a worker's runs before it is replaced: bounds what TF keeps (docs/decisions.md)
START_ALLOWANCE_S = 120.0  # a worker's start (TF import, MNIST load) on a slow machine (docs/decisions.md)
REACH_TIMEOUT_S = 5.0  # a listening Ray head accepts in milliseconds; this bounds a lookup or a silent host


class RunFailed(RuntimeError):
    """A training run did not finish, or its result cannot be had: it raised, its worker or
    process died, went silent or overran, or its result is missing or unreadable (the
    executors' runs, and the bisect's runs of a commit's CLI). ``str()`` says why, in one line."""


class BatchStopped(RuntimeError):
    """A batch ended because its ``stop`` event was set; its unfinished runs were stopped."""


def stop_requested(stop, unfinished):
    """Raises BatchStopped when ``stop`` (a threading.Event, or None) is set."""
    if stop is not None and stop.is_set():
        raise BatchStopped(f"the batch was stopped with {unfinished} run(s) unfinished")


def one_line(err):
    """An exception as ``Type: message``, its message on one line."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def run_failed(config, why, others, host=None):
    """The RunFailed of run ``config`` (a config dict), in one line: the run, where it
    failed, why, and how many runs of its batch were stopped with it."""
    where = f" on host {host}" if host else ""
    return RunFailed(f"training run {config.get('cell')} seed {config.get('seed')} failed{where}: "
                     f"{why}; the batch's other {others} run(s) were stopped (a look is judged on "
                     f"all its seeds)")


def run_limit_s(expected_s, runs=1):
    """How long ``runs`` runs of ``expected_s`` seconds each may take in one process before it
    is stuck, not slow: ``TIMEOUT_FACTOR`` times their expected time plus a worker's start."""
    return START_ALLOWANCE_S + TIMEOUT_FACTOR * expected_s * runs


def overrun(started, expected_s, now):
    """Why a run that started at ``started`` (monotonic seconds) is stuck, or None while it
    is within ``run_limit_s(expected_s)`` (None: no limit)."""
    if expected_s is None or now <= started + run_limit_s(expected_s):
        return None
    return f"it ran {now - started:.0f} s, over {TIMEOUT_FACTOR:.0f} times its expected {expected_s:.0f} s"


class ResultReporter:
    """A batch's results as they arrive: ``results`` (a list its executor fills, None until a
    run is done), each new one passed once to ``on_result(position, result)`` so that a
    caller keeps every finished run even when the batch is stopped."""

    def __init__(self, results, on_result=None, as_run_results=True):
        self.results, self.on_result, self.as_run_results = results, on_result, as_run_results
        self.values = {}  # position -> the finished run, converted once

    def new(self):
        from rnn_models.records.results import RunResult

        for position, raw in enumerate(self.results):
            if raw is not None and position not in self.values:
                value = self.values[position] = RunResult.from_dict(raw) if self.as_run_results else raw
                if self.on_result is not None:
                    self.on_result(position, value)

    def all(self):
        self.new()
        return [self.values.get(position) for position in range(len(self.results))]


class Executor(abc.ABC):
    """Trains batches of runs somewhere else than in this process."""

    @abc.abstractmethod
    def run(self, configs, on_result=None, stop=None):
        """``configs`` (TrainConfigs or their dicts) trained -> their RunResults, in order;
        ``on_result(position, result)`` is called as each finishes. Once ``stop`` (a
        threading.Event) is set, the batch's runs are stopped and BatchStopped is raised
        within a poll period: how a batch trained in a background thread is ended."""

    @abc.abstractmethod
    def close(self):
        """Ends every process or connection this executor started; a later ``run`` starts anew."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def ray_address(option=None, env=os.environ):
    """The Ray cluster that runs go to: ``option`` (``--ray-address``), else
    ``$RNN_MODELS_RAY_ADDRESS``, else None (this machine). A ValueError names where a bad
    address came from, says that Ray is not installed, or that nothing listens at a
    ``HOST:PORT`` (``unreachable``: one TCP connect to that address alone, in seconds)."""
    source, address = (("--ray-address", option) if option
                       else (f"${ADDRESS_VARIABLE}", env.get(ADDRESS_VARIABLE)))
    if not address:
        return None
    if not _ADDRESS.match(address) or (address != "auto" and not 0 < int(address.rsplit(":", 1)[1]) < 65536):
        raise ValueError(f"{source} {address!r}: expected auto or HOST:PORT")
    if importlib.util.find_spec("ray") is None:
        raise ValueError(f"{source} {address}: Ray is not installed; pip install \"rnn_models[ray]\"")
    if address != "auto":  # auto: Ray's own lookup of the cluster started here, which fails at once
        host, port = address.rsplit(":", 1)
        why = unreachable(host, int(port))
        if why:
            raise ValueError(f"{source} {address}: no Ray cluster listens there ({why}); start one with "
                             f"`ray start --head --port {port}`, or give the address it printed")
    return address


def unreachable(host, port, timeout_s=REACH_TIMEOUT_S):
    """Why nothing accepts a TCP connection at ``host:port`` (the Ray head's GCS port) within
    ``timeout_s``, name lookup included, or None when something does. Only that address is tried."""
    outcome = []

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
            outcome.append(None)
        except OSError as err:
            outcome.append(err.strerror or str(err))

    attempt = threading.Thread(target=connect, daemon=True)  # a daemon: a hung name lookup is left behind
    attempt.start()
    attempt.join(timeout_s)
    return outcome[0] if outcome else f"no answer within {timeout_s:g} s"


def on_loopback(address):
    """True when ``address`` (``HOST:PORT``) is on this machine's loopback: the cluster's nodes
    then run on 127.0.0.1, and so must this process's connection to it."""
    host = address.rsplit(":", 1)[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return False
