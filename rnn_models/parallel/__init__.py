"""Training runs side by side, away from the process that asks for them: one ``Executor``
interface (``run(configs) -> [RunResult]``, ``close()``), chosen by ``open_executor(address)``:
``TrainingPool`` (worker processes on this machine, the default) or ``RayExecutor`` (a Ray
cluster, ``rnn_models.parallel.ray_executor``); and ``local`` (training here, data loaded once)."""

from .executor import Executor, RunFailed, open_executor, ray_address
from .pool import TrainingPool, usable_cores

__all__ = ["Executor", "RunFailed", "TrainingPool", "open_executor", "ray_address", "usable_cores"]
