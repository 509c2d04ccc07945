"""The accuracy decision on synthetic seed distributions: identical, equal but different,
1 point lower, noisy; and its sequential stopping."""

import dataclasses
import math

import numpy as np
import pytest

from rnn_models.records.baselines import CellBaseline
from rnn_models.regression.accuracy import (AccuracyOutcome, Policy, decide, judge, matching_reference, statistic,
                                           why_not_identical)
from tests.unit.test_baseline import make_result

POLICY = Policy()  # half-point target, last 3 epochs, looks (3, 6, 10), paired
UNPAIRED = Policy(target_drop=0.01, looks=(3, 6), paired=False)
# The spread of the per-seed differences a real change brings (an Adam epsilon that lowered the
# LSTMs by about a point: baselines/accuracy_gate.json), and the one a rounding change brings.
CHANGE_SD, ROUNDING_SD = 0.0026, 0.0002


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
    """``run_seed`` for judge(): seed s's run is the stored seed s's curve lowered by ``drop``
    and moved by a per-seed ``N(0, sd)``, as a changed model trained from the same seed is;
    ``independent`` draws it from a population of the stored mean lowered by ``drop`` instead."""

    def __init__(self, runs, drop=0.0, sd=ROUNDING_SD, rng_seed=1, independent=False):
        self.stored = {run.config.seed: tuple(e.accuracy_mean for e in run.test_curve) for run in runs}
        self.rng, self.drop, self.sd, self.independent, self.seeds = (
            np.random.default_rng(rng_seed), drop, sd, independent, [])

    def __call__(self, seeds):
        return [self.one(seed) for seed in seeds]

    def one(self, seed):
        self.seeds.append(seed)
        if self.independent:
            accuracy = curve(0.97 - self.drop, self.rng, 0.0025)
        else:
            shift = -self.drop + self.rng.normal(0.0, self.sd)
            accuracy = tuple(a + shift for a in self.stored[seed])
        return make_result("lstm", test_accuracy=accuracy, seed=seed,
                           train_loss=tuple(1.0 / (k + 1) for k in range(20)))


def test_statistic_is_the_mean_of_the_last_epochs():
    assert statistic([0.5, 0.6, 0.7, 0.8], Policy(last_epochs=3)) == pytest.approx(0.7)
    assert statistic([0.5, 0.9], Policy(last_epochs=1)) == 0.9


def test_identical_seed_zero_passes_at_the_cost_of_one_run():
    baseline, runs = distribution()
    candidate = Candidate(runs)
    outcome = judge(baseline, runs[0], candidate, POLICY)
    assert outcome.verdict == "identical" and not outcome.fails and candidate.seeds == []
    assert "identical" in outcome.table()


def test_one_changed_bit_is_not_identical_and_says_where():
    baseline, runs = distribution()
    window = runs[0].train_curve[3]
    changed = dataclasses.replace(window, loss=math.nextafter(window.loss, 1.0))
    run = dataclasses.replace(runs[0], train_curve=runs[0].train_curve[:3] + (changed,) + runs[0].train_curve[4:])
    assert matching_reference(run, baseline) is None
    why = why_not_identical(run, baseline)
    assert why.startswith("train window 4 loss") and "came from a machine" not in why


def test_a_run_under_numerics_with_no_reference_names_them():
    baseline, runs = distribution()
    window = dataclasses.replace(runs[0].train_curve[0], loss=runs[0].train_curve[0].loss + 1e-7)
    run = dataclasses.replace(runs[0], fingerprint={"cpu": "arm", "numerics": "aarch64/neon-native"},
                              train_curve=(window,) + runs[0].train_curve[1:])
    assert matching_reference(run, baseline) is None
    assert why_not_identical(run, baseline) == ("no stored seed-0 run under this machine's numerics "
                                "aarch64/neon-native (stored: test/avx2-pinned)")


def test_a_run_that_reproduces_a_reference_stored_under_another_key_is_identical():
    """The key labels a reference; the bits decide. Another CPU model with the recording kind's
    bits (a key with the CPU part, against one stored before it) takes the identical path."""
    baseline, runs = distribution()
    run = dataclasses.replace(runs[0], fingerprint={"numerics": "test/avx2-pinned/authenticamd-25-17-l1d32k"})
    assert matching_reference(run, baseline) == "test/avx2-pinned"
    outcome = judge(baseline, run, Candidate(runs), POLICY)
    assert outcome.verdict == "identical"
    assert outcome.detail == "seed 0 reproduces the stored seed-0 run of numerics test/avx2-pinned bit for bit"


def test_a_second_reference_gives_its_machine_the_identical_path():
    baseline, runs = distribution()
    window = runs[0].train_curve[0]
    other = dataclasses.replace(runs[0], train_curve=(dataclasses.replace(window, loss=window.loss + 1e-7),)
                                + runs[0].train_curve[1:], fingerprint={"numerics": "aarch64/neon-native"})
    assert matching_reference(other, baseline) is None
    assert matching_reference(other, baseline.with_reference(other)) == "aarch64/neon-native"
    assert matching_reference(runs[0], baseline.with_reference(other)) == "test/avx2-pinned"


def test_equal_but_different_passes_after_the_first_look():
    baseline, runs = distribution()
    candidate = Candidate(runs)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert outcome.verdict == "pass" and len(outcome.looks) == 1
    assert candidate.seeds == [0, 1, 2]  # seed 0, then the stored seeds in order
    assert outcome.looks[0].high < POLICY.target_drop


def test_half_a_point_lower_fails():
    baseline, runs = distribution()
    candidate = Candidate(runs, drop=0.005, sd=CHANGE_SD)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert outcome.fails and outcome.looks[-1].low > 0 and outcome.looks[-1].drop >= POLICY.min_drop
    table = outcome.table()
    assert "baseline mean" in table and "(10 seeds)" in table and "lstm: fail" in table


def test_an_outcome_travels_as_data_and_is_read_back_whole():
    """What a pytest-xdist worker reports (``to_dict``, through JSON-like data) is the outcome
    again on the controller, which renders its table there."""
    import json

    baseline, runs = distribution()
    candidate = Candidate(runs, drop=0.005, sd=CHANGE_SD)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    back = AccuracyOutcome.from_dict(json.loads(json.dumps(outcome.to_dict())))
    assert back == outcome and back.table() == outcome.table()
    assert back.line() == outcome.table().splitlines()[-1] == f"lstm: {outcome.verdict} ({outcome.detail})"


def test_the_paired_baseline_mean_is_over_the_same_seeds():
    baseline, runs = distribution()
    candidate = Candidate(runs, drop=0.005, sd=0.0)
    look = judge(baseline, candidate.one(0), candidate, POLICY).looks[0]
    stored = [statistic([e.accuracy_mean for e in runs[s].test_curve]) for s in look.seeds]
    assert look.baseline_mean == pytest.approx(np.mean(stored)) and look.drop == pytest.approx(0.005)


def test_half_a_point_lower_fails_in_at_least_95_percent_of_tries():
    baseline, runs = distribution(rng_seed=5)
    fails = 0
    for k in range(200):
        candidate = Candidate(runs, drop=0.005, sd=CHANGE_SD, rng_seed=100 + k)
        fails += judge(baseline, candidate.one(0), candidate, POLICY).fails
    assert fails >= 190


def test_a_rounding_change_passes_in_at_least_99_percent_of_tries():
    """The policy's level is 1%: 2 false fails are expected in 200 tries, 5 is past it."""
    baseline, runs = distribution(rng_seed=5)
    passes = 0
    for k in range(200):
        candidate = Candidate(runs, sd=ROUNDING_SD, rng_seed=500 + k)
        passes += not judge(baseline, candidate.one(0), candidate, POLICY).fails
    assert passes >= 195


def test_a_change_with_no_drop_fails_at_most_at_the_policy_level():
    baseline, runs = distribution(rng_seed=5)
    fails = sum(judge(baseline, c.one(0), c, POLICY).fails
                for c in (Candidate(runs, sd=CHANGE_SD, rng_seed=900 + k) for k in range(200)))
    assert fails <= 5


def test_noisy_candidate_takes_every_look_then_passes_as_inconclusive():
    baseline, runs = distribution()
    candidate = Candidate(runs, drop=0.002, sd=0.01, rng_seed=3)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert [len(look.seeds) for look in outcome.looks] == [3, 6, 10]
    assert outcome.verdict == "pass" and "inconclusive after 10 seeds" in outcome.detail


def test_paired_looks_stop_at_the_stored_seeds():
    baseline, runs = distribution(seeds=5)
    candidate = Candidate(runs, drop=0.002, sd=0.01, rng_seed=3)
    outcome = judge(baseline, candidate.one(0), candidate, POLICY)
    assert [len(look.seeds) for look in outcome.looks] == [3, 5] and candidate.seeds == [0, 1, 2, 3, 4]


def test_unpaired_policy_judges_independent_seeds():
    baseline, runs = distribution()
    lower = Candidate(runs, drop=0.01, independent=True, rng_seed=7)
    assert judge(baseline, lower.one(0), lower, UNPAIRED).fails
    same = Candidate(runs, independent=True, rng_seed=8)
    assert judge(baseline, same.one(0), same, UNPAIRED).verdict == "pass"


def test_a_paired_look_needs_the_same_seeds_on_both_sides():
    with pytest.raises(ValueError, match="same seeds"):
        decide([0.97, 0.96, 0.97], [0.97, 0.96], 0.01, POLICY)


def test_a_non_finite_seed_fails():
    from rnn_models.records.results import NonFinite

    assert decide([0.97, 0.96], [0.97, math.nan], 0.01, POLICY).verdict == "fail"
    assert decide([0.97] * 10 + [0.96], [0.97, math.nan], 0.01, UNPAIRED).verdict == "fail"
    baseline, runs = distribution()
    candidate = Candidate(runs)
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
