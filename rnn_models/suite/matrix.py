"""What the regression suite runs, defined once and pytest-free: the accuracy matrix's
config per cell and its seeds, the layer-norm numerics cases, the run budget, and the checks
of the suite's options. (Each cell's accuracy policy is on its ``CellSpec``.)"""

from rnn_models.config import TUTORIAL, TUTORIAL_CLIP_NORM
from rnn_models.registry import cell_names, get_spec


def matrix_config(cell, epochs=TUTORIAL.epochs):
    """The suite's training run for ``cell``: the tutorial's guarded setup (its 10-epoch run
    clipped at ``TUTORIAL_CLIP_NORM``) with the registry's ``suite_kwargs``. One run per cell
    serves the accuracy check and the "no NaN under clipping" check."""
    spec = get_spec(cell)
    return TUTORIAL.replace(cell=cell, cell_kwargs=dict(spec.suite_kwargs),
                            clip_norm=TUTORIAL_CLIP_NORM, epochs=epochs)


def speed_config(cell):
    """The config a cell's step is timed and profiled with: the matrix's for the tutorial's
    cells, the tutorial's for the others."""
    return matrix_config(cell) if get_spec(cell).tutorial else TUTORIAL.replace(cell=cell)


def matrix_cells():
    return cell_names(tutorial_only=True)


# The tutorial's layer-norm NaN and each remedy it listed, alone and combined. One epoch:
# the tutorial's loss was NaN within its first 250 steps.
_LN_TUTORIAL = TUTORIAL.replace(cell="ln_basic_lstm", epochs=1)
_REMEDIES = {
    "lr_1e-4": {"learning_rate": 1e-4},
    "clip_5": {"clip_norm": TUTORIAL_CLIP_NORM},
    "gain_0.85_shift_0.15": {"cell_kwargs": {"norm_gain": 0.85, "norm_shift": 0.15}},
    "epsilon_1e-3": {"cell_kwargs": {"epsilon": 1e-3}},
}


def _combine(changes):
    merged, kwargs = {}, {}
    for change in changes:
        kwargs.update(change.get("cell_kwargs", {}))
        merged.update({k: v for k, v in change.items() if k != "cell_kwargs"})
    return _LN_TUTORIAL.replace(cell_kwargs=kwargs, **merged)


NUMERICS_CASES = {
    # The tutorial's unguarded setup, under check_numerics so the failure is named.
    "tutorial": _LN_TUTORIAL.replace(check_numerics=True),
    **{name: _combine([change]) for name, change in _REMEDIES.items()},
    "all_remedies": _combine(_REMEDIES.values()),
}

# Seeds of the first-step sweep over fresh initialisations (rnn_models.training.first_step).
FIRST_STEP_SEEDS = tuple(range(10))

# The seeds a tutorial cell's baseline distribution is recorded over
# (``pytest benchmarks --update-baselines``): the registry's count for the cell. Seed 0 is
# also the reference run that an unchanged run reproduces bit for bit.
BASELINE_SEEDS = tuple(range(10))


def baseline_seeds(cell):
    return tuple(range(get_spec(cell).baseline_seeds))



# Issue 5's targets on 2 CPU cores: each run's share of wall time spent getting batches,
# and the process's peak memory (their measured headroom: docs/decisions.md). The
# matrix's wall time is reported, not gated: step times move too much between processes.
MATRIX_WALL_TARGET_S = 300.0
MATRIX_INPUT_SHARE_LIMIT = 0.05
MATRIX_PEAK_RSS_LIMIT_BYTES = 1.5e9


def matrix_budget(results):
    """Totals of the matrix's runs (RunResults): run wall seconds summed, input seconds and
    share, and the largest process peak resident memory after a run."""
    wall = sum(r.wall_time_s for r in results)
    waited = sum(r.input_wait_s for r in results)
    return {"runs": len(results), "cells": len({r.cell for r in results}), "wall_s": wall,
            "input_s": waited, "input_share": waited / wall if wall else 0.0,
            "peak_rss_bytes": max((r.peak_rss_bytes or 0) for r in results) if results else 0}


def format_budget(budget, session_wall_s=None, workers=1):
    runs = f"{budget['runs']} runs of " if budget["runs"] != budget["cells"] else ""
    wall = f"wall {budget['wall_s']:.0f} s"
    if workers > 1 and session_wall_s is not None:
        wall = f"run time {budget['wall_s']:.0f} s summed, {session_wall_s:.0f} s of session on {workers} workers"
    return (f"matrix of {runs}{budget['cells']} cells: {wall} "
            f"(target {MATRIX_WALL_TARGET_S:.0f} s for all five), input {budget['input_s']:.1f} s "
            f"= {budget['input_share']:.1%} (limit {MATRIX_INPUT_SHARE_LIMIT:.0%}), peak memory "
            f"{budget['peak_rss_bytes'] / 1e9:.2f} GB (limit {MATRIX_PEAK_RSS_LIMIT_BYTES / 1e9:.1f} GB)")


# --- the suite's options, checked before anything runs ------------------------------


def check_suite_options(*, cells, epochs, update, baselines, plots, speed_summary, report=None):
    """The pytest options' values, each checked; returns the selected cells (None: all).
    A ValueError names the option and what is wrong, in one line."""
    from rnn_models.records.paths import check_input_dir, check_output_dir, check_output_file
    from rnn_models.registry import parse_cell_list

    selected = None
    if cells:
        try:
            selected = parse_cell_list(cells)
        except ValueError as err:
            raise ValueError(f"--cells: {err}") from None
    if epochs is not None and (isinstance(epochs, bool) or epochs <= 0):
        raise ValueError(f"--epochs: expected a positive integer, got {epochs}")
    if update and epochs not in (None, TUTORIAL.epochs):
        raise ValueError(f"--update-baselines records the suite's config ({TUTORIAL.epochs} epochs); "
                         f"--epochs {epochs} would store baselines of another config")
    if update:
        check_output_dir(baselines, "--baselines")
    else:
        check_input_dir(baselines, "--baselines")
    if plots:
        check_output_dir(plots, "--plots")
    if speed_summary:
        check_output_file(speed_summary, "--speed-summary")
    if report:
        if not str(report).lower().endswith((".html", ".htm")):
            raise ValueError(f"--report {report}: expected a file name ending in .html "
                             "(its data goes beside it as .json)")
        check_output_file(report, "--report")
    return selected
