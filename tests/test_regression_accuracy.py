"""The accuracy decision on synthetic seed distributions: identical, equal but different,
1 point lower, noisy; and its sequential stopping."""

import dataclasses
import math

import numpy as np
import pytest

from rnn_models.baseline import CellBaseline
from rnn_models.regression.accuracy import Policy, decide, identical_to_reference, judge, statistic
from tests.test_baseline import make_result

POLICY = Policy()  # 1-point target, last 3 epochs, looks (3, 6)


def curve(final, rng, sd):
    """A 10-epoch test curve ending near ``final``; the seed noise is shared by the epochs."""
    level = final + rng.normal(0.0, sd)
    return tuple(float(level - 0.002 * (9 - e) + rng.normal(0.0, 0.0005)) for e in range(10))


def distribution(mean=0.97, sd=0.0025, seeds=10, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    runs = [make_result("lstm", test_accuracy=curve(mean, rng, sd), seed=s,
                        train_loss=tuple(1.0 / (k + 1) for k in range(20))) for s in range(seeds)]
    return CellBaseline.from_results(runs), runs


class Candidate:
    """``run_seed`` for judge(): seed s's run from a population of mean ``mean``."""

    def __init__(self, mean, sd=0.0025, rng_seed=1):
        self.rng, self.mean, self.sd, self.seeds = np.random.default_rng(rng_seed), mean, sd, []

    def __call__(self, seeds):
        return [self.one(seed) for seed in seeds]

    def one(self, seed):
        self.seeds.append(seed)
        return make_result("lstm", test_accuracy=curve(self.mean, self.rng, self.sd), seed=seed,
                           train_loss=tuple(1.0 / (k + 1) for k in range(20)))


def test_statistic_is_the_mean_of_the_last_epochs():
    assert statistic([0.5, 0.6, 0.7, 0.8], Policy(last_epochs=3)) == pytest.approx(0.7)
    assert statistic([0.5, 0.9], Policy(last_epochs=1)) == 0.9


def test_identical_seed_zero_passes_at_the_cost_of_one_run():
    baseline, runs = distribution()
    candidate = Candidate(0.97)
    outcome = judge(baseline, runs[0], candidate, POLICY)
    assert outcome.verdict == "identical" and not outcome.fails and candidate.seeds == []
    assert "identical" in outcome.table()


def test_one_changed_bit_is_not_identical_and_says_where():
    baseline, runs = distribution()
    window = runs[0].train_curve[3]
    changed = dataclasses.replace(window, loss=math.nextafter(window.loss, 1.0))
    run = dataclasses.replace(runs[0], train_curve=runs[0].train_curve[:3] + (changed,) + runs[0].train_curve[4:])
    same, why = identical_to_reference(run, baseline)
    assert not same and why.startswith("train window 4 loss") and "came from a machine" not in why


def test_a_run_under_numerics_with_no_reference_names_them():
    baseline, runs = distribution()
    run = dataclasses.replace(runs[0], fingerprint={"cpu": "arm", "numerics": "aarch64/neon-native"})
    same, why = identical_to_reference(run, baseline)
    assert not same and why == ("no stored seed-0 run under this machine's numerics "
                                "aarch64/neon-native (stored: test/avx2-pinned)")


def test_a_second_reference_gives_its_machine_the_identical_path():
    baseline, runs = distribution()
    window = runs[0].train_curve[0]
    other = dataclasses.replace(runs[0], train_curve=(dataclasses.replace(window, loss=window.loss + 1e-7),)
                                + runs[0].train_curve[1:], fingerprint={"numerics": "aarch64/neon-native"})
    assert not identical_to_reference(other, baseline)[0]
    assert identical_to_reference(other, baseline.with_reference(other)) == (True, "")
    assert identical_to_reference(runs[0], baseline.with_reference(other)) == (True, "")


def test_equal_but_different_passes_after_the_first_look():
    baseline, _ = distribution()
    candidate = Candidate(0.97)
    first = candidate.one(0)
    outcome = judge(baseline, first, candidate, POLICY)
    assert outcome.verdict == "pass" and len(outcome.looks) == 1
    assert candidate.seeds == [0, 1, 2]  # seed 0, then the stored seeds in order
    assert outcome.looks[0].high < POLICY.target_drop


def test_one_point_lower_fails():
    baseline, _ = distribution()
    candidate = Candidate(0.96)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert outcome.fails and outcome.looks[-1].low > 0 and outcome.looks[-1].drop >= POLICY.min_drop
    table = outcome.table()
    assert "baseline mean" in table and "(10 seeds)" in table and "lstm: fail" in table


def test_one_point_lower_fails_in_at_least_95_percent_of_tries():
    baseline, _ = distribution(rng_seed=5)
    fails = 0
    for k in range(200):
        candidate = Candidate(0.96, rng_seed=100 + k)
        fails += judge(baseline, candidate.one(0), candidate, POLICY).fails
    assert fails >= 190


def test_equal_populations_pass_in_at_least_95_percent_of_tries():
    baseline, _ = distribution(rng_seed=5)
    passes = 0
    for k in range(200):
        candidate = Candidate(0.97, rng_seed=500 + k)
        passes += not judge(baseline, candidate.one(0), candidate, POLICY).fails
    assert passes >= 190


def test_noisy_candidate_takes_every_look_then_passes_as_inconclusive():
    baseline, _ = distribution(sd=0.01)
    candidate = Candidate(0.965, sd=0.01, rng_seed=3)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert [len(look.seeds) for look in outcome.looks] == [3, 6]
    assert outcome.verdict == "pass" and "inconclusive after 6 seeds" in outcome.detail


def test_a_non_finite_seed_fails():
    from rnn_models.results import NonFinite

    assert decide([0.97] * 10 + [0.96], [0.97, math.nan], 0.01, POLICY).verdict == "fail"
    baseline, _ = distribution()
    candidate = Candidate(0.97)
    broken = NonFinite(epoch=1, step=3, loss_finite=False, variables=("v",))
    outcome = judge(baseline, candidate.one(0),
                    lambda seeds: [make_result("lstm", nonfinite=broken, seed=s) for s in seeds], POLICY)
    assert outcome.fails

def test_looks_share_alpha_mostly_at_the_end():
    policy = Policy(alpha=0.01, looks=(5, 10, 20))
    levels = [policy.look_alpha(k) for k in range(3)]
    assert sum(levels) == pytest.approx(0.01) and levels[0] < levels[1] < levels[2]
    with pytest.raises(ValueError):
        Policy(looks=(6, 3))
    with pytest.raises(ValueError):
        Policy(target_drop=0.0)
