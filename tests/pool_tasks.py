"""Stand-ins for training that the pool's tests hand to its workers (``TrainingPool(task=...)``):
module-level, so a spawned worker can import them."""

import os
import signal
import time


def echo(config):
    """The config back, with the worker's pid: a run that finishes at once."""
    return {**config, "pid": os.getpid()}


def raise_on_seed_1(config):
    if config["seed"] == 1:
        raise ValueError("a bad config")
    return echo(config)


def die_on_seed_1(config):
    if config["seed"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return echo(config)


def freeze_on_seed_1(config):
    """The whole worker stops (its heartbeat too), as a process stuck in the kernel would."""
    if config["seed"] == 1:
        os.kill(os.getpid(), signal.SIGSTOP)
    return echo(config)


def loop_on_seed_1(config):
    """A run that never ends while its worker stays alive and keeps its heartbeat."""
    while config["seed"] == 1:
        time.sleep(0.05)
    return echo(config)


def environment(config):
    """The worker's environment, as it was when its task ran."""
    return dict(os.environ)
