"""No NaN under clipping; the tutorial's layer-norm NaN and each remedy, as measured."""

import math

import pytest

from rnn_models.config import TUTORIAL_CLIP_NORM
from rnn_models.records.numerics_outcomes import load_numerics, numerics_outcome
from rnn_models.suite.matrix import FIRST_STEP_SEEDS, NUMERICS_CASES
from rnn_models.training.first_step import first_step_sweep
from rnn_models.training.train import NonFiniteGradientError, train_and_evaluate


@pytest.mark.slow
def test_no_nan_under_clipping(cell, matrix_run):
    result = matrix_run(cell)
    assert result.config.clip_norm == TUTORIAL_CLIP_NORM
    assert result.finite, f"{cell}: non-finite under clipping: {result.nonfinite}"
    assert math.isfinite(result.max_grad_norm)
    assert all(math.isfinite(w.loss) for w in result.train_curve)
    assert all(math.isfinite(e.loss) for e in result.test_curve)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(NUMERICS_CASES))
def test_layer_norm_numerics_outcome(case, sequence_data, baseline_dir, update_baselines, report_numerics):
    config = NUMERICS_CASES[case]
    try:
        result = train_and_evaluate(config, sequence_data(config))
    except NonFiniteGradientError as err:
        # check_numerics stopped the run and named the variables; that is the outcome.
        assert err.nonfinite.variables and str(err).endswith(", ".join(err.nonfinite.variables))
        result = err.result
    outcome = numerics_outcome(result)
    if update_baselines:
        report_numerics(case, outcome)  # written with the other baselines, if all pass
        return
    stored = load_numerics(baseline_dir).get(case)
    assert stored is not None, f"no stored outcome for {case!r}: run with --update-baselines"
    assert stored["config"] == outcome["config"], f"{case}: stored outcome is of another config"
    assert outcome == stored, (
        f"layer-norm numerics case {case!r} changed:\n  stored: {stored}\n  now:    {outcome}")


@pytest.mark.slow
@pytest.mark.parametrize("case", list(NUMERICS_CASES))
def test_layer_norm_first_step_over_seeds(case, sequence_data, baseline_dir, update_baselines,
                                          report_numerics):
    """One run per case can be lucky; the first step over fresh initialisations shows how
    often a setup breaks at once (stored beside the case, compared exactly)."""
    config = NUMERICS_CASES[case].replace(check_numerics=False)
    sweep = first_step_sweep(config, sequence_data(config), FIRST_STEP_SEEDS)
    key = f"{case}: first step over seeds"
    outcome = {"config": config.to_dict(), **sweep}
    if update_baselines:
        report_numerics(key, outcome)
        return
    stored = load_numerics(baseline_dir).get(key)
    assert stored is not None, f"no stored outcome for {key!r}: run with --update-baselines"
    assert stored["config"] == outcome["config"], f"{key}: stored outcome is of another config"
    lists = ("nonfinite_gradient_seeds", "norm_overflow_seeds", "nonfinite_after_update_seeds")
    assert {k: stored.get(k) for k in lists} == {k: outcome[k] for k in lists}, (
        f"{key} changed:\n  stored: {stored}\n  now:    {outcome}")
