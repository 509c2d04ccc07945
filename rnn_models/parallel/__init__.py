"""Training runs side by side: ``TrainingPool`` (worker processes this process starts, for a
plain run on several cores), ``RunExchange`` (runs shared by the workers of one
pytest-xdist session on one machine) and ``local`` (training here, data loaded once)."""

from .exchange import RunExchange, TrainingFailed, job_key
from .pool import TrainingPool, usable_cores

__all__ = ["RunExchange", "TrainingFailed", "TrainingPool", "job_key", "usable_cores"]
