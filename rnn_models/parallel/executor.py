"""Where training runs go: one interface, two backends, chosen by one value, the address.

An ``Executor`` trains a batch, ``run(configs) -> [RunResult]`` in the configs' order
(``on_result`` hears of each run as it finishes, so a stopped batch keeps its done runs), and
``close()`` ends what it started (or use it as a context manager). A run that does not
finish is a ``RunFailed`` in one line naming it, and the batch's other runs are stopped,
since a look of the accuracy gate is judged on all its seeds or not at all. The caller
never learns where a run trained:

- no address (the default): ``TrainingPool``, worker processes on this machine, each
  pinned to its cores and replaced every few runs (``rnn_models.parallel.pool``);
- a Ray address, ``auto`` or ``HOST:PORT`` (``pip install "rnn_models[ray]"``):
  ``RayExecutor``, each run a task of that cluster (``rnn_models.parallel.ray_executor``).
"""

import abc
import importlib.util
import os
import re

ADDRESS_VARIABLE = "RNN_MODELS_RAY_ADDRESS"  # the address when no --ray-address is given
_ADDRESS = re.compile(r"^(auto|[\w.-]+:\d{1,5})$")
TIMEOUT_FACTOR = 10.0  # a run this many times its expected time is stuck, not slow
RUNS_PER_CHILD = 5  # a worker's runs before it is replaced: bounds what TF keeps (docs/decisions.md)
START_ALLOWANCE_S = 120.0  # a worker's start (TF import, MNIST load; measured ~5 s) on a slow machine


class RunFailed(RuntimeError):
    """A run did not finish: it raised, its worker died, went silent or overran."""


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


def overrun(started, expected_s, now):
    """Why a run that started at ``started`` (monotonic seconds) is stuck, or None while it
    is within ``TIMEOUT_FACTOR`` times ``expected_s`` (None: no limit) plus a worker's start."""
    if expected_s is None or now <= started + START_ALLOWANCE_S + TIMEOUT_FACTOR * expected_s:
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
        from rnn_models.results import RunResult

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
    def run(self, configs, on_result=None):
        """``configs`` (TrainConfigs or their dicts) trained -> their RunResults, in order;
        ``on_result(position, result)`` is called as each finishes."""

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
    address came from, or says that Ray is not installed."""
    source, address = (("--ray-address", option) if option
                       else (f"${ADDRESS_VARIABLE}", env.get(ADDRESS_VARIABLE)))
    if not address:
        return None
    if not _ADDRESS.match(address):
        raise ValueError(f"{source} {address!r}: expected auto or HOST:PORT")
    if importlib.util.find_spec("ray") is None:
        raise ValueError(f"{source} {address}: Ray is not installed; pip install \"rnn_models[ray]\"")
    return address
