"""Seeded training runs of one commit's code, for the numerics and accuracy bisects.

Each call is one ``python -m rnn_models train`` process in that commit's worktree (its own
code first on ``PYTHONPATH``), started with the numerics pin so that seed-0 runs are
bit-identical however often and wherever they run on this machine kind
(``rnn_models.machine.numerics_pin``). A run that cannot be had (the command fails, its result is
missing or unreadable, it runs past its time limit) is a ``RunFailed``; the bisect then skips
that commit. Each process is bounded as the training pool bounds a run (``run_limit_s``): the
good commit's by the stored seeds' time when known, every other commit's by the good commit's
own runs of the same config.
"""

import os
import statistics
import subprocess
import sys
from pathlib import Path

from rnn_models.executors.executor import RunFailed, run_limit_s
from rnn_models.machine import numerics_pin
from rnn_models.records.results import RunResult

EXIT_NONFINITE, EXITS_INTERRUPTED = 1, (130, 143)  # ``python -m rnn_models train``'s own codes


def train_argv(config, seeds, out, data=None):
    """The ``python -m rnn_models train`` arguments of ``config`` over ``seeds``; the options
    a commit's CLI has had since its first version, the rest left to its defaults."""
    argv = ["train", "--cell", config.cell, "--epochs", str(config.epochs), "--quiet",
            "--seeds", *map(str, seeds), "--out", str(out)]
    if config.clip_norm is not None:
        argv += ["--clip", repr(config.clip_norm)]
    if config.steps_per_epoch is not None:
        argv += ["--steps-per-epoch", str(config.steps_per_epoch)]
    for key, value in config.cell_kwargs.items():
        argv += ["--cell-arg", f"{key}={value!r}"]
    if data:
        argv += ["--data", str(data)]
    return argv


def environment(root, threads=None):
    """The pinned environment with ``root``'s code first on the import path, and TensorFlow's
    thread pools sized to ``threads`` cores when given (training is bit-identical for any
    thread count, docs/decisions.md)."""
    from rnn_models.machine.cpu import thread_variables

    env = {**numerics_pin.pinned_env(), **(thread_variables(threads) if threads else {})}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def train_seeds(root, config, seeds, out_dir, data=None, threads=None, timeout_s=None):
    """The RunResults of ``config`` over ``seeds``, trained by the code at ``root``, in order
    (``threads``: ``environment``'s). A process still running after ``timeout_s`` seconds
    (None: no bound) is killed and is a ``RunFailed``."""
    seeds = list(seeds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{config.cell}_seed{seed}.json" for seed in seeds]
    out = paths[0] if len(seeds) == 1 else out_dir  # the CLI's --out: a file for one seed
    try:
        done = subprocess.run([sys.executable, "-m", "rnn_models", *train_argv(config, seeds, out, data)],
                              cwd=root, env=environment(root, threads), capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"train of {config.cell} seeds {seeds[0]}-{seeds[-1]} ran past its {timeout_s:.0f} s "
                        "bound and was stopped") from None
    if done.returncode in EXITS_INTERRUPTED:
        raise KeyboardInterrupt  # the same Ctrl-C reached the run
    if done.returncode not in (0, EXIT_NONFINITE) or not all(path.is_file() for path in paths):
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        raise RunFailed(f"train exited {done.returncode}: {lines[-1] if lines else 'no message'}")
    try:
        return [RunResult.load(path) for path in paths]
    except ValueError as err:
        raise RunFailed(" ".join(str(err).split())) from None


def bound_s(expected_s, runs=1):
    """The time limit of a process that trains ``runs`` runs of ``expected_s`` seconds each
    (None: nothing is expected, no limit)."""
    return None if expected_s is None else run_limit_s(expected_s, runs)


def expected_bound_s(expected_s, config, runs=1):
    """``bound_s`` of ``runs`` runs of ``config`` (a TrainConfig) by ``expected_s(config dict) ->
    seconds | None``; no ``expected_s``, no limit."""
    return bound_s(expected_s(config.to_dict()) if expected_s else None, runs)


def measured_s(runs):
    """What a run of the same config as ``runs`` (RunResults) is expected to take: their median
    wall time."""
    return statistics.median(r.wall_time_s for r in runs)
