"""Stand-ins for training that the executors' tests hand to their workers
(``TrainingPool(task=...)``, ``RayExecutor(task=...)``): module-level, so a spawned process
or a Ray worker can import them."""

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


def die_first_time_on_seed_1(config):
    """Seed 1's first try kills its process, after writing its pid to ``config["marker"]``."""
    if config["seed"] == 1 and not os.path.exists(config["marker"]):
        with open(config["marker"], "x") as marker:
            marker.write(str(os.getpid()))
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


def adam_epsilon(config):
    """The Adam epsilon that training in this process would use (a variant changes it)."""
    from rnn_models import steps

    return {**echo(config), "adam_epsilon": steps.ADAM_EPSILON}
