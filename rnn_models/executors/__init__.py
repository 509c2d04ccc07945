"""Training runs side by side, away from the process that asks for them: one ``Executor``
interface (``run(configs) -> [RunResult]``, ``close()``; ``rnn_models.executors.executor``),
chosen by ``open_executor(address)``: ``TrainingPool`` (worker processes on this machine, the
default) or ``RayExecutor`` (a Ray cluster, ``rnn_models.executors.ray_executor``); and
``local`` (training here, data loaded once)."""

import os

from .executor import LOCAL_ONLY_VARIABLE, BatchStopped, Executor, RunFailed, on_loopback, ray_address
from .pool import TrainingPool

__all__ = ["BatchStopped", "Executor", "RunFailed", "TrainingPool", "open_executor", "ray_address"]


def open_executor(address=None, *, processes=None, data_path=None, variant=None, expected_s=None,
                  pin=True):
    """The executor for ``address`` (see ``ray_address``): None, worker processes here,
    ``processes`` of them (default: one per usable core); else that Ray cluster, which runs as
    many at once as it has CPUs. ``variant``: a code change each worker makes first
    (``rnn_models.training.variants``); ``expected_s(config_dict) -> seconds | None``: a run's expected
    time, past ``TIMEOUT_FACTOR`` times which it fails; ``pin``: the numerics pin in the
    workers (False: the machines' own kernels). A loopback address (``127.0.0.1:PORT``) puts Ray,
    unless it is loaded already, in its local-only mode (``LOCAL_ONLY_VARIABLE``)."""
    if address is None:
        return TrainingPool(processes, data_path, variant, expected_s=expected_s, pin=pin)
    if on_loopback(address):  # read as Ray loads: keeps its sockets on 127.0.0.1
        os.environ.setdefault(LOCAL_ONLY_VARIABLE, "0")
    from rnn_models.executors.ray_executor import RayExecutor  # Ray is an optional extra

    return RayExecutor(address, data_path=data_path, variant=variant, expected_s=expected_s, pin=pin)
