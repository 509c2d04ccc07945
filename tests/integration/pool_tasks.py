"""Stand-ins for training that the executors' tests hand to their workers
(``TrainingPool(task=...)``, ``RayExecutor(task=...)``): module-level, so a spawned process
or a Ray worker can import them."""

import functools
import os
import signal
import time


def echo(config):
    """The config back, with the worker's pid: a run that finishes at once."""
    return {**config, "pid": os.getpid()}


def _on_seed_1(fault, config):
    """``fault()`` when the run is seed 1's, else the run finishes as ``echo``."""
    if config["seed"] == 1:
        fault()
    return echo(config)


def _raise():
    raise ValueError("a bad config")


def _signal_self(signum):
    os.kill(os.getpid(), signum)


# Module-level partials, so a spawned process or a Ray worker can unpickle them.
raise_on_seed_1 = functools.partial(_on_seed_1, _raise)
die_on_seed_1 = functools.partial(_on_seed_1, functools.partial(_signal_self, signal.SIGKILL))
# The whole worker stops (its heartbeat too), as a process stuck in the kernel would.
freeze_on_seed_1 = functools.partial(_on_seed_1, functools.partial(_signal_self, signal.SIGSTOP))


def die_first_time_on_seed_1(config):
    """Seed 1's first try kills its process, after writing its pid to ``config["marker"]``."""
    if config["seed"] == 1 and not os.path.exists(config["marker"]):
        with open(config["marker"], "x") as marker:
            marker.write(str(os.getpid()))
        _signal_self(signal.SIGKILL)
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
    from rnn_models.training import steps

    return {**echo(config), "adam_epsilon": steps.ADAM_EPSILON}


def train_unless_on_node(config):
    """A real run, trained here from ``config["data"]`` (MNIST's folder), with the Ray node it
    trained on; on node ``config["stall_on"]`` it writes its seed to ``config["marker"]`` and
    waits there, to be lost with its node."""
    import ray

    from rnn_models.executors.local import train_here

    node = ray.get_runtime_context().get_node_id()
    if node == config["stall_on"]:
        with open(config["marker"], "a") as marker:
            marker.write(f"{config['seed']}\n")
        while True:
            time.sleep(0.1)
    run = {key: value for key, value in config.items() if key not in ("stall_on", "marker", "data")}
    return {**train_here(run, config["data"]).to_dict(), "node": node}
