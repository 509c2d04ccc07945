"""What the regression suite runs, defined once and pytest-free: the accuracy matrix's
config per cell, the layer-norm numerics cases, and how margins are measured."""

import statistics

from rnn_models.config import TUTORIAL
from rnn_models.registry import cell_names, get_spec

# The tutorial's guarded setup: its 10-epoch run with global-norm clipping at 5.0. One run
# per cell serves the accuracy check and the "no NaN under clipping" check.
MATRIX_CLIP_NORM = 5.0


def matrix_config(cell, epochs=TUTORIAL.epochs):
    """The suite's training run for ``cell``: the tutorial's, clipped at 5.0, with the
    registry's ``suite_kwargs``."""
    spec = get_spec(cell)
    return TUTORIAL.replace(cell=cell, cell_kwargs=dict(spec.suite_kwargs),
                            clip_norm=MATRIX_CLIP_NORM, epochs=epochs)


def matrix_cells():
    return cell_names(tutorial_only=True)


# The tutorial's layer-norm NaN and each remedy it listed, alone and combined. One epoch:
# the tutorial's loss was NaN within its first 250 steps.
_LN_TUTORIAL = TUTORIAL.replace(cell="ln_basic_lstm", epochs=1)
_REMEDIES = {
    "lr_1e-4": {"learning_rate": 1e-4},
    "clip_5": {"clip_norm": 5.0},
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

# Seeds of the first-step sweep over fresh initialisations (rnn_models.numerics).
FIRST_STEP_SEEDS = tuple(range(10))

# Margins: k sample standard deviations over seeded runs, never below a floor (one test
# batch in 128 for accuracy; the loss's last-digit noise).
MARGIN_STDS = 3.0
MARGIN_FLOORS = {"test_accuracy": 0.005, "final_train_loss": 0.01}


def margin_from_runs(metric, values):
    """``(margin, source)`` for ``metric`` from its values over seeded runs."""
    if len(values) < 2:
        raise ValueError(f"A margin needs at least 2 seeded runs, got {len(values)}.")
    std = statistics.stdev(values)
    margin = max(MARGIN_STDS * std, MARGIN_FLOORS[metric])
    shown = ", ".join(f"{v:.4f}" for v in values)
    source = (f"{len(values)} seeded runs [{shown}]: std {std:.4f}; margin = "
              f"max({MARGIN_STDS:g} x std, {MARGIN_FLOORS[metric]:g})")
    return margin, source


def measured_margins(runs_by_seed):
    """``{metric: {"margin", "source", "values"}}`` from one cell's seeded RunResults."""
    from rnn_models.baseline import metric_values

    values = [metric_values(run) for run in runs_by_seed]
    out = {}
    for metric in MARGIN_FLOORS:
        series = [v[metric] for v in values]
        margin, source = margin_from_runs(metric, series)
        out[metric] = {"margin": margin, "source": source, "values": series}
    return out
