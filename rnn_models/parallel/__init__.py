"""Training runs side by side: ``TrainingPool`` (worker processes this process starts, for a
plain run on several cores), ``ChildTrainer`` (one such process, replaced every few runs),
``RunExchange`` (runs shared by the workers of one pytest-xdist session on one machine) and
``local`` (training here, data loaded once)."""

from .exchange import RunExchange, TrainingFailed, job_key
from .pool import ChildTrainer, RunFailed, TrainingPool, usable_cores

__all__ = ["ChildTrainer", "RunExchange", "RunFailed", "TrainingFailed", "TrainingPool", "job_key", "usable_cores"]
