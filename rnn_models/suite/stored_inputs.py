"""What the suite reads and writes in a baselines folder, beyond storing and loading
(``rnn_models.records.baselines``): the checks of the stored inputs before any training, the staging of
an update (``--update-baselines``), and what the stored runs' wall times say about the next
ones (the order cells go to xdist workers, and each run's time limit)."""

import statistics
from pathlib import Path

from rnn_models.data.sequences import full_epoch_steps
from rnn_models.records.baselines import CellBaseline, check_config, config_differences
from rnn_models.records.numerics_outcomes import NUMERICS_FILE, load_numerics
from rnn_models.registry import REGISTRY
from rnn_models.suite.matrix import baseline_seeds, matrix_config


def check_stored_inputs(folder, cells, epochs=None):
    """Reads and checks every stored input the accuracy gate of ``cells`` compares against,
    before any training: each existing baseline (schema, values, config against the suite's
    run) and the numerics file. A ValueError names the file."""
    for cell in cells:
        path = CellBaseline.path(folder, cell)
        if path.is_file():
            baseline = CellBaseline.load(folder, cell)
            config = matrix_config(cell) if epochs is None else matrix_config(cell, epochs)
            check_config(baseline, config, path)
    load_numerics(folder)


def stage_update(transaction, runs, numerics, expected_seeds=None):
    """Stages the baselines made from ``runs`` (RunResults, any cells and seeds) and
    ``numerics`` (merged into the stored outcomes) into ``transaction``; returns the staged
    file names. Raises a ValueError, staging nothing usable, when a cell's runs cannot make
    a baseline (another config, a missing seed, a NaN, below the tutorial floor)."""
    by_cell = {}
    for result in runs:
        by_cell.setdefault(result.cell, []).append(result)
    staged = []
    for cell, results in by_cell.items():
        seeds = tuple(sorted(r.config.seed for r in results))
        expected = tuple(baseline_seeds(cell) if expected_seeds is None else expected_seeds)
        if seeds != expected:
            raise ValueError(f"{cell}: recorded seeds {list(seeds)}, expected {list(expected)}")
        baseline = CellBaseline.from_results(results, REGISTRY[cell].tutorial_accuracy)
        transaction.stage(f"{cell}.json", baseline.to_dict())
        staged.append(f"{cell}.json")
    if numerics:
        transaction.stage(NUMERICS_FILE, {**load_numerics(transaction.folder), **numerics})
        staged.append(NUMERICS_FILE)
    return staged + [Path(p).name for p in transaction.moves if Path(p).name not in staged]


def costliest_first(cells, baselines):
    """``cells`` ordered by their stored runs' median wall time, longest first (cells with no
    stored baseline last, in their order): pytest-xdist then starts the longest cells first,
    so the short ones fill the workers' ends (longest-processing-time-first scheduling); the
    training pool likewise gets a session's seed-0 runs in this order. An unreadable baseline
    counts as none here: the test that reads it names it."""
    def seconds(cell):
        try:
            return _median_wall_s(CellBaseline.load(baselines, cell))
        except (OSError, ValueError):
            return 0.0

    return sorted(cells, key=seconds, reverse=True)


LENGTH_FIELDS = {"epochs", "steps_per_epoch"}  # a run's length, not its numbers per step


def expected_run_seconds(baselines):
    """``expected(config_dict) -> seconds | None``: the median wall time of the stored seeds
    of the config's cell when the config is the stored one but for its seed, scaled by its
    train steps when it differs only in length (epochs, steps per epoch), else None. The
    training pool and the bisect fail a run that takes many times this
    (``rnn_models.executors.executor.run_limit_s``)."""
    stored = {}

    def expected(config):
        cell = config.get("cell")
        if cell not in stored:
            try:
                stored[cell] = CellBaseline.load(baselines, cell)
            except (OSError, ValueError):  # none, or unreadable: the suite names it elsewhere
                stored[cell] = None
        baseline = stored[cell]
        if baseline is None:
            return None
        differs = {name for name, _, _ in config_differences(baseline.config, config)}
        seconds = _median_wall_s(baseline)
        if not differs:
            return seconds
        if not differs <= LENGTH_FIELDS:
            return None
        return seconds * _train_steps(config) / _train_steps(baseline.config.to_dict())

    return expected


def _median_wall_s(baseline):
    """The median wall time of a baseline's stored seeds."""
    return statistics.median(r.wall_time_s for r in baseline.seeds)


def _train_steps(config):
    """A config dict's train steps over all its epochs, on the real MNIST."""
    per_epoch = config.get("steps_per_epoch") or full_epoch_steps(config["split"], config["batch_size"])
    return config["epochs"] * per_epoch
