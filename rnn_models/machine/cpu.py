"""This machine's CPU as the runs see it: its /proc/cpuinfo fields, the cores this process
may use, and the pinning of a process to its share of them. TF-free, and the bottom of the
import map (``rnn_models.machine.environment``, ``numerics_pin``, the executors and the suite use it).
"""

import os


def cpu_fields():
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    try:
        text = open("/proc/cpuinfo", encoding="utf-8", errors="replace").read()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n", 1)[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def usable_cores():
    """The cores this process may run on (its affinity; every core where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_variables(count):
    """The environment that sizes TensorFlow's thread pools (and OpenMP's) to ``count`` cores,
    read when TensorFlow loads."""
    return {variable: str(count) for variable in
            ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")}


def pin_process(index, count, env=os.environ):
    """Takes process ``index`` of ``count``'s share of the cores and sizes TensorFlow's
    thread pools to it, so that parallel training processes do not fight over every core.
    Must run before TensorFlow is imported. Training is bit-identical for any thread count
    here (docs/decisions.md), so the metrics are a serial run's. With more processes than
    cores, each keeps every core and one thread, and the scheduler spreads them. Returns the
    cores."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cores = sorted(os.sched_getaffinity(0))
    if count > len(cores):  # more processes than cores: shares would stack some on one core
        env.update(thread_variables(1))
        return cores
    share = len(cores) // count
    first = (index * share) % len(cores)
    mine = cores[first:first + share]
    os.sched_setaffinity(0, mine)
    env.update(thread_variables(len(mine)))
    return mine


def pin_xdist_worker(env=os.environ):
    """In a pytest-xdist worker (``PYTEST_XDIST_WORKER=gwK``), ``pin_process`` for its share;
    does nothing elsewhere."""
    worker, count = env.get("PYTEST_XDIST_WORKER", ""), env.get("PYTEST_XDIST_WORKER_COUNT")
    if not worker.startswith("gw") or not count:
        return None
    return pin_process(int(worker[2:]), int(count), env)
