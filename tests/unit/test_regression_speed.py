"""The A/B speed decision on synthetic units, and the fallback rules from strings."""

import math

import numpy as np
import pytest
from scipy import stats

from rnn_models.regression.rules import GrowthRule, parse_rule
from rnn_models.regression.speed import (ESTIMATORS, Decision, Thresholds, decide, decide_sequentially,
                                         decide_with_retimes, final_verdict, hodges_lehmann, median_interval,
                                         needs_retime, next_look, signed_rank_cdf)

THRESHOLDS = Thresholds(min_effect=0.03, process_sigma=0.004, family_alpha=0.01, looks=(16, 32, 48),
                        block_s=0.05)
FAMILY = 16


def pairs(ratio, n=48, sd=0.02, seed=0):
    """Units' log ratios around ``log(ratio)``."""
    return np.log(ratio) + np.random.default_rng(seed).normal(0.0, sd, n)


def test_signed_rank_distribution_is_exact():
    cdf = signed_rank_cdf(3)  # T+ in 0..6 over 8 equally likely sign patterns
    assert np.allclose(cdf, np.cumsum([1, 1, 1, 2, 1, 1, 1]) / 8)
    n = 12  # against scipy's exact p-value of the one-sided signed-rank test
    d = np.arange(1, n + 1) * np.array([1, -1, 1, 1, -1, 1, 1, 1, -1, 1, 1, 1])
    t_plus = sum(r for r, v in zip(range(1, n + 1), d) if v > 0)
    assert signed_rank_cdf(n)[n * (n + 1) // 2 - t_plus] == pytest.approx(
        stats.wilcoxon(d, alternative="greater", method="exact").pvalue)


def test_hodges_lehmann_estimate_and_interval():
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    estimate, low, high = hodges_lehmann(d, alpha=1 / 32)  # P(T+ <= 0) = 1/32 for n=5
    assert estimate == pytest.approx(0.3) and (low, high) == (0.1, 0.5)
    assert hodges_lehmann(d, alpha=1 / 64)[1:] == (-math.inf, math.inf)  # unreachable with 5 pairs
    with pytest.raises(ValueError, match="at least 2 units"):
        hodges_lehmann([0.1], 0.05)


def test_median_estimate_and_sign_test_interval():
    d = np.array([0.5, 0.1, 0.4, 0.2, 0.3, 0.6])
    estimate, low, high = median_interval(d, alpha=1 / 64)  # P(B <= 0) = 1/64 for n=6
    assert estimate == pytest.approx(0.35) and (low, high) == (0.1, 0.6)
    assert median_interval(d, alpha=7 / 64)[1:] == (0.2, 0.5)  # P(B <= 1) = 7/64
    assert median_interval(d, alpha=1 / 128)[1:] == (-math.inf, math.inf)  # unreachable with 6 units
    with pytest.raises(ValueError, match="at least 2 units"):
        median_interval([0.1], 0.05)


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_interval_covers_the_truth_at_its_level(estimator):
    alpha, misses = 0.05, 0
    for seed in range(400):
        _, low, high = ESTIMATORS[estimator](pairs(1.0, n=20, seed=seed), alpha)
        misses += not (low <= 0.0 <= high)
    assert misses / 400 <= 2 * alpha + 0.03  # the sign test's discrete level is at most its nominal one


def test_the_median_holds_where_one_pair_in_three_times_its_baseline_slow():
    """Why the gate takes the median (docs/decisions.md): the units alternate over three
    fresh worker pairs, and a pair whose baseline worker runs 8% slow moves a third of them
    (a ratio under 1): the median moves less than the Hodges-Lehmann estimate does."""
    d = pairs(1.0, n=48, sd=0.01)
    d[::3] -= 0.08
    median, hl = median_interval(d, 0.5)[0], hodges_lehmann(d, 0.5)[0]
    assert abs(median) < 0.5 * abs(hl) and abs(hl) > 0.01


@pytest.mark.parametrize("ratio, verdict", [
    (1.00, "unchanged"), (1.10, "slower"), (1.15, "slower"), (0.90, "faster"), (1.04, "slower"),
])
def test_verdicts_on_clean_samples(ratio, verdict):
    decision = decide_sequentially(pairs(ratio), THRESHOLDS, FAMILY)
    assert decision.verdict == verdict
    assert decision.low <= decision.ratio <= decision.high
    assert decision.low < ratio < decision.high
    assert decision.fails == (verdict == "slower")


def test_a_small_but_certain_slowdown_is_not_a_regression():
    exact = Thresholds(min_effect=0.03, process_sigma=0.0, family_alpha=0.01, looks=(48,), block_s=0.05)
    decision = decide(pairs(1.01, sd=0.002), exact, FAMILY)
    assert decision.low > 1.0 and decision.verdict == "unchanged"  # significant, under 3%


def test_noisy_samples_are_inconclusive_not_a_false_alarm():
    noisy = pairs(1.05, sd=0.3)
    decision = decide_sequentially(noisy, THRESHOLDS, FAMILY)
    assert decision.verdict == "inconclusive" and decision.units == 48 and not decision.fails


def test_sequential_decision_stops_at_the_first_clear_look():
    assert decide_sequentially(pairs(1.2), THRESHOLDS, FAMILY).units == 16
    assert decide_sequentially(pairs(1.0, sd=0.01), THRESHOLDS, FAMILY).units == 16
    borderline = pairs(1.04, sd=0.06, seed=3)
    assert decide_sequentially(borderline, THRESHOLDS, FAMILY).units > 16
    assert (next_look(0, THRESHOLDS), next_look(16, THRESHOLDS), next_look(48, THRESHOLDS)) == (16, 32, None)


def test_process_sigma_and_the_family_widen_the_interval():
    d = pairs(1.0, n=32)
    narrow = decide(d, Thresholds(0.03, 0.0, 0.01, (32,), 0.05), family_size=1)
    wide = decide(d, Thresholds(0.03, 0.01, 0.01, (32,), 0.05), family_size=1)
    wider = decide(d, Thresholds(0.03, 0.01, 0.01, (32,), 0.05), family_size=16)
    assert narrow.high - narrow.low < wide.high - wide.low < wider.high - wider.low


@pytest.mark.parametrize("fields", [
    dict(min_effect=0.0), dict(min_effect=1.5), dict(process_sigma=-1.0), dict(family_alpha=0.0),
    dict(looks=()), dict(looks=(32, 16)), dict(looks=(1, 4)), dict(retimes=0), dict(estimator="mean"),
])
def test_invalid_thresholds_are_refused(fields):
    values = dict(min_effect=0.03, process_sigma=0.0, family_alpha=0.01, looks=(16,), block_s=0.05)
    with pytest.raises(ValueError):
        Thresholds(**{**values, **fields})


def test_the_per_look_level_shares_the_gate_s_alpha_over_the_looks_or_the_pooled_decisions():
    two = Thresholds(0.03, 0.0, 0.01, (16, 32), 0.05)  # two looks, two retimes
    assert two.alpha_per_look(16) == pytest.approx(0.01 / 32)
    assert Thresholds(0.03, 0.0, 0.01, (32,), 0.05, retimes=3).alpha_per_look(16) == pytest.approx(0.01 / 48)


@pytest.mark.parametrize("verdict, ratio, retimed", [
    ("slower", 1.05, True), ("inconclusive", 1.016, True),  # log 1.016 >= half of log 1.03
    ("inconclusive", 1.014, False), ("inconclusive", 0.97, False), ("unchanged", 1.02, False),
    ("faster", 0.9, False),
])
def test_a_step_is_retimed_when_found_slower_or_inconclusive_leaning_slower(verdict, ratio, retimed):
    assert needs_retime(Decision(verdict, ratio, 0.9, 1.1, 16), THRESHOLDS) == retimed


def test_retimes_pool_every_session_s_units_and_stop_at_a_slower_decision_or_the_cap():
    t = Thresholds(0.03, 0.0, 0.01, (16, 32), 0.05)
    noisy = list(pairs(1.05, n=32, sd=0.1, seed=1))
    first = decide_sequentially(noisy, t, FAMILY)
    assert first.verdict == "inconclusive" and needs_retime(first, t)  # too noisy for 32 units
    sessions = iter([list(pairs(1.05, n=32, sd=0.1, seed=k)) for k in (2, 3, 4)])
    pooled, taken = decide_with_retimes(first, noisy, lambda: next(sessions), t, FAMILY)
    assert pooled.units == 32 + 32 * len(taken) and pooled.verdict == "slower" and 1 <= len(taken) <= t.retimes
    assert pooled == decide(noisy + [u for s in taken for u in s], t, FAMILY)
    same = iter([list(pairs(1.0, n=32, sd=0.1, seed=k)) for k in (5, 6, 7)])
    pooled, taken = decide_with_retimes(first, noisy, lambda: next(same), t, FAMILY)
    assert len(taken) == t.retimes or not needs_retime(pooled, t)
    assert not pooled.fails and final_verdict(first, pooled) == pooled.verdict
    clear = decide_sequentially(list(pairs(1.0, n=32, sd=0.01)), t, FAMILY)
    assert decide_with_retimes(clear, [], lambda: pytest.fail("retimed a clear step"), t, FAMILY) == (None, [])


def test_only_a_pooled_slower_decision_fails_a_step():
    slower, unchanged = Decision("slower", 1.05, 1.02, 1.08, 32), Decision("unchanged", 1.0, 0.99, 1.01, 64)
    assert final_verdict(slower, Decision("slower", 1.05, 1.03, 1.07, 64)) == "slower"
    assert final_verdict(slower, unchanged) == "inconclusive"  # a lean of the first workers
    assert final_verdict(Decision("inconclusive", 1.03, 0.98, 1.08, 32), unchanged) == "unchanged"
    assert final_verdict(slower, None) == "inconclusive" and final_verdict(unchanged, None) == "unchanged"


def test_growth_rules_from_strings():
    rule = parse_rule("median:150%")
    assert rule == GrowthRule("median", 150.0) and rule.text == "median:150%"
    assert rule.fails({"median": 2.5}, {"median": 1.0}) is None
    assert "median 2.6 is over 2.5" in rule.fails({"median": 2.6}, {"median": 1.0})
    assert parse_rule("torch_ratio:60%").fails({"ratio_to_torch": 1.0}, {}) is None  # nothing stored
    assert parse_rule(" torch_ratio:60% ").fails({"ratio_to_torch": 1.7}, {"ratio_to_torch": 1.0})
    for bad in ("median", "median:10", "mean:10%", "median:-5%", "", None):
        with pytest.raises(ValueError, match="Invalid speed rule"):
            parse_rule(bad)
