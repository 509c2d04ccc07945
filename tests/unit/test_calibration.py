"""The gates' stored calibrations: each replays from its own samples to the rates it states,
and the rates meet the gates' targets. Also the derivations on synthetic samples."""

import dataclasses
import json
import math
import statistics

import numpy as np
import pytest

from rnn_models.records.calibrations import CALIBRATION_DIR, load_calibrations
from rnn_models.regression.accuracy import Policy
from rnn_models.regression.speed import UNNAMED_ESTIMATOR
from rnn_models.selfcheck.accuracy_check import RESULT_FILE, bootstrap_tries, rates, tries
from rnn_models.selfcheck.gate_check import derive_thresholds, evaluate
from tests import ROOT

BASELINES = ROOT / "baselines"


KINDS = sorted(p.stem for p in (BASELINES / CALIBRATION_DIR).glob("*.json"))


def _speed(kind):
    return json.loads((BASELINES / CALIBRATION_DIR / f"{kind}.json").read_text())


def _xfail_if_known(shortfalls, key, *values):
    """``values`` as one parametrization, strictly expected to fail where ``shortfalls`` names ``key``."""
    marks = [pytest.mark.xfail(strict=True, reason=shortfalls[key])] if key in shortfalls else []
    return pytest.param(*values, marks=marks)


ACCURACY_FILES = (RESULT_FILE, "accuracy_gate_unpinned.json")  # fast path's A/A; the statistical path's


def _accuracy(name=RESULT_FILE):
    return json.loads((BASELINES / name).read_text())


# --- speed --------------------------------------------------------------------------


def synthetic_runs(runs=6, steps=4, pairs=48, sd=0.02, bias_sd=0.003, seed=0):
    rng = np.random.default_rng(seed)
    return [{f"cell{s} train CPU:0": list(rng.normal(rng.normal(0, bias_sd), sd, pairs))
             for s in range(steps)} for _ in range(runs)]


def test_thresholds_come_from_the_aa_runs():
    quiet, _ = derive_thresholds(synthetic_runs(bias_sd=0.0), 0.01, (16, 32, 48), 0.05)
    biased, derivation = derive_thresholds(synthetic_runs(bias_sd=0.01), 0.01, (16, 32, 48), 0.05)
    assert quiet.process_sigma < biased.process_sigma
    assert biased.process_sigma == pytest.approx(0.01, rel=0.6)
    assert biased.min_effect >= 1.5 * derivation["second_largest_aa_deviation"] > quiet.min_effect
    assert quiet.pairs == 1


def test_one_session_s_lone_outlier_does_not_set_the_minimum_effect():
    runs = synthetic_runs()
    _, plain = derive_thresholds(runs, 0.01, (16, 32, 48), 0.05)
    runs[2]["cell1 train CPU:0"] = [v + 0.08 for v in runs[2]["cell1 train CPU:0"]]  # one pair's bad build
    outlier, derivation = derive_thresholds(runs, 0.01, (16, 32, 48), 0.05)
    assert derivation["largest_aa_deviation"] > 0.08 > derivation["second_largest_aa_deviation"]
    # the deviation that was largest before now sets it, not the outlier
    assert derivation["second_largest_aa_deviation"] == plain["largest_aa_deviation"]
    assert outlier.min_effect == math.ceil(1.5 * plain["largest_aa_deviation"] * 1000) / 1000 < 0.08


def test_one_pair_in_three_leaning_in_one_run_sets_a_smaller_minimum_effect_with_the_median():
    """Zen 3's calibration (docs/decisions.md): in one A/A run one pair of three timed its
    baseline side slow on most steps. The Hodges-Lehmann estimate follows that third of the
    units, the median far less, so the deviation that sets the minimum effect is smaller."""
    runs = synthetic_runs(bias_sd=0.0)
    for step in ("cell0 train CPU:0", "cell1 train CPU:0"):  # two of run 3's steps
        runs[3][step] = [v - 0.08 if k % 3 == 1 else v for k, v in enumerate(runs[3][step])]
    median, _ = derive_thresholds(runs, 0.01, (16, 32, 48), 0.05)
    hl, _ = derive_thresholds(runs, 0.01, (16, 32, 48), 0.05, estimator="hodges_lehmann")
    assert (median.estimator, hl.estimator) == ("median", "hodges_lehmann")
    assert median.min_effect < 0.7 * hl.min_effect


def test_a_replay_with_another_estimator_states_it():
    from rnn_models.selfcheck.gate_check import derive

    aa = synthetic_runs()
    calibration = {"thresholds": {"family_alpha": 0.01, "looks": [16, 32, 48], "block_s": 0.05, "pairs": 3},
                   "family_size": 4, "samples": {"aa": aa, "injected": []}}
    assert derive(calibration)["thresholds"]["estimator"] == "median"  # the gate's
    hl = derive(calibration, estimator="hodges_lehmann")
    assert hl["thresholds"]["estimator"] == "hodges_lehmann"
    assert derive(hl)["thresholds"]["estimator"] == "hodges_lehmann"  # the file's, kept


def test_evaluate_counts_false_alarms_and_detections():
    aa = synthetic_runs()
    thresholds, _ = derive_thresholds(aa, 0.01, (16, 32, 48), 0.05)
    rng = np.random.default_rng(1)
    injected = [{"cell": "cell0", "phase": "train", "slowdown": 0.10,
                 "samples": [list(math.log(1.10) + rng.normal(0, 0.02, 48)) for _ in range(5)]}]
    summary, detected = evaluate(thresholds, aa, injected, family=4)
    assert summary["runs"] == 6 and summary["runs_with_false_alarm"] == 0
    assert detected[0]["flagged"] == 5 and detected[0]["verdicts"] == {"slower": 5}


def test_an_unclear_step_is_decided_again_with_the_next_runs_samples():
    from rnn_models.regression.speed import Thresholds, decide
    from rnn_models.selfcheck.gate_check import retime_across_runs

    thresholds = Thresholds(0.04, 0.0, 0.01, (16, 32), 0.1)  # up to 2 retimes
    rng = np.random.default_rng(0)
    slow, same = (list(m + rng.normal(0, 0.01, 32)) for m in (0.06, 0.0))
    runs = [slow, same, slow, slow]
    replayed = retime_across_runs(runs, thresholds, 1)
    assert [first.verdict for first, _, _ in replayed] == ["slower", "unchanged", "slower", "slower"]
    assert replayed[1][1:] == (None, 0)
    # run 2: its first look's 16 units and the whole next run; run 3's next is run 0
    assert [(replayed[k][1].units, replayed[k][1].verdict, replayed[k][2]) for k in (2, 3)] == [(48, "slower", 1)] * 2
    pooled, n = replayed[0][1:]  # run 0 pooled with run 1's unchanged sample, then, if still unclear, run 2's
    assert not pooled.fails and pooled == decide(slow[:16] + same + (slow if n == 2 else []), thresholds, 1)
    with pytest.raises(ValueError, match="needs more runs"):
        retime_across_runs([slow, slow], thresholds, 1)


def test_a_run_whose_workers_lean_one_way_is_flagged_but_not_confirmed():
    aa = synthetic_runs(runs=8, bias_sd=0.0)
    thresholds, _ = derive_thresholds(aa, 0.01, (16, 32, 48), 0.05)
    aa[3] = {step: [v + 0.08 for v in d] for step, d in aa[3].items()}  # one run's pairs 8% slow on one side
    summary, _ = evaluate(thresholds, aa, [], family=4)
    assert summary["runs_flagged_before_confirmation"] == 1 and summary["steps_flagged_before_confirmation"] == 4
    assert summary["runs_with_false_alarm"] == 0 and summary["verdicts"]["inconclusive"] >= 4


@pytest.mark.parametrize("kind", KINDS)
def test_the_stored_speed_calibration_replays_to_the_rates_it_states(kind):
    data = _speed(kind)
    thresholds, _ = load_calibrations(BASELINES)[kind]
    aa, injected = evaluate(thresholds, data["samples"]["aa"], data["samples"]["injected"],
                            data["family_size"])
    stored = data["measured"]
    assert {k: stored["aa"][k] for k in aa} == json.loads(json.dumps(aa))
    assert stored["injected"] == json.loads(json.dumps(injected))


@pytest.mark.parametrize("kind", [k for k in KINDS if _speed(k)["thresholds"].get("pairs", 1) > 1])
def test_the_stored_thresholds_are_derived_from_the_stored_aa_runs(kind):
    data = _speed(kind)
    t = data["thresholds"]
    thresholds, _ = derive_thresholds(data["samples"]["aa"], t["family_alpha"], t["looks"], t["block_s"], t["pairs"],
                                      estimator=t["estimator"])
    assert (thresholds.min_effect, thresholds.process_sigma) == (t["min_effect"], pytest.approx(t["process_sigma"]))


# Calibrations that miss issue 28's targets as measured, each with its reason: strict, so the day
# one meets them (a new rule replayed with `gate-check --from`) this list must shrink.
CALIBRATION_SHORTFALLS = {}


@pytest.mark.parametrize("kind", [_xfail_if_known(CALIBRATION_SHORTFALLS, k, k) for k in KINDS])
def test_the_speed_gate_meets_its_targets_as_calibrated(kind):
    """At most 1 of 20 clean A/A runs of the whole gate with any false alarm, on every kind.
    Issue 28's gate (several worker pairs): a 5% slowdown of a train step and of an inference
    step each flagged in at least 19 of 20 runs. A kind still calibrated with one pair
    (issue 10's gate) keeps issue 10's targets: a 10% slowdown flagged in at least 19 of 20,
    a 5% one never unchanged or faster with an interval that excludes 1.05."""
    data = _speed(kind)
    measured = data["measured"]
    aa = measured["aa"]
    assert aa["runs"] >= 20 and aa["runs_with_false_alarm"] <= aa["runs"] // 20
    if data["thresholds"].get("pairs", 1) > 1:
        five = [inj for inj in measured["injected"] if round(inj["slowdown"], 3) == 0.05]
        assert {inj["phase"] for inj in five} == {"train", "inference"}
        for inj in five:
            assert inj["runs"] >= 20 and inj["flagged"] >= 19 * inj["runs"] / 20, inj
        return
    by_size = {round(inj["slowdown"], 3): inj for inj in measured["injected"]}
    assert by_size[0.1]["runs"] >= 20 and by_size[0.1]["flagged"] >= 0.95 * by_size[0.1]["runs"]
    assert by_size[0.05]["unchanged_or_faster_excluding_truth"] == 0


# --- accuracy -----------------------------------------------------------------------


def test_tries_replay_the_sequential_decision_on_values():
    rng = np.random.default_rng(0)
    stored = dict(enumerate(0.97 + rng.normal(0, 0.0025, 10)))
    rounded = {s: v + rng.normal(0, 0.0002) for s, v in stored.items()}  # the same seeds, other bits
    paired, unpaired = Policy(), Policy(target_drop=0.01, looks=(3, 6), paired=False)
    same = tries(stored, rounded, paired, 200, np.random.default_rng(1))
    lower = tries(stored, rounded, paired, 200, np.random.default_rng(1), drop=0.005)
    assert sum(f for f, _ in same) == 0 and sum(f for f, _ in lower) == 200
    assert {n for _, n in same} <= {3, 6} and sum(n == 3 for _, n in same) >= 100  # mostly at the first look
    change = list(rng.normal(0.011, 0.0026, 10))  # a real change's per-seed differences
    caught = bootstrap_tries(stored, paired, 200, np.random.default_rng(2), drop=0.005, differences=change)
    assert sum(f for f, _ in caught) >= 180
    independent = bootstrap_tries(stored, unpaired, 200, np.random.default_rng(2), drop=0.01)
    assert sum(f for f, _ in independent) >= 180


# Each file's cells: the unpinned A/A (30 seeds stored at 5d95f0f) is too small for basic_rnn's
# 50-seed look since 2026-12-05, so that file holds the other four (docs/accuracy_gate.md).
ACCURACY_ENTRIES = [(name, cell) for name in ACCURACY_FILES for cell in _accuracy(name)["cells"]]


def test_an_a_a_sample_too_small_for_the_looks_is_named_for_training_again(tmp_path):
    from rnn_models.selfcheck.accuracy_check import short_aa_cells

    earlier = tmp_path / "earlier.json"
    def sample(n):
        return {"aa_variant": "rounding", "samples": {"rounding": {str(s): 0.9 for s in range(n)}}}

    earlier.write_text(json.dumps({"cells": {"basic_rnn": sample(30), "gru": sample(10)}}))
    assert short_aa_cells(["basic_rnn", "gru"], earlier) == ["basic_rnn"]  # 30 < its 50-seed look; gru's is 10


def test_every_suite_cell_s_gate_is_measured_under_the_pin():
    from rnn_models.suite.matrix import matrix_cells

    assert sorted(_accuracy()["cells"]) == sorted(matrix_cells())


@pytest.mark.parametrize("name, cell", ACCURACY_ENTRIES)
def test_the_stored_accuracy_result_replays_to_the_rates_it_states(cell, name):
    data = _accuracy(name)
    entry = data["cells"][cell]
    replayed = json.loads(json.dumps(rates(entry, data["tries"], data["rng_seed"])))
    assert {k: entry[k] for k in replayed} == replayed


@pytest.mark.parametrize("name, cell", ACCURACY_ENTRIES)
def test_the_accuracy_gate_meets_its_targets_as_measured(cell, name):
    """Issue 28: the A/A change passes in at least 99% of tries (false fails at most 1%); the
    target drop (half a point, a point for basic_rnn) is caught in at least 95%; so is each
    real perturbation whose measured drop reaches the target. Each entry was replayed under the
    cell's current policy."""
    from rnn_models.regression.accuracy import policy_for

    entry = _accuracy(name)["cells"][cell]
    assert entry["policy"] == json.loads(json.dumps(dataclasses.asdict(policy_for(cell))))
    target = entry["policy"]["target_drop"]
    assert target <= (0.01 if cell == "basic_rnn" else 0.005)
    assert entry["aa"]["passed"] >= 0.99 * entry["aa"]["tries"]
    assert entry["smallest_drop_caught_at_95pct"] is not None
    assert entry["smallest_drop_caught_at_95pct"] <= target
    for p in entry["perturbation_rates"]:
        if p["drop_of_statistic"] >= target:
            assert p["failed"] >= 0.95 * p["tries"], p


# --- the whole speed gate as CI runs it (gate-trial): an uncalibrated kind, or beside a load ---

TRIALS = BASELINES / "speed_gate_trials.json"


def _trials():
    if not TRIALS.is_file():  # none measured yet: nothing to hold to its targets
        return []
    data = json.loads(TRIALS.read_text())
    return [(kind, name, entry) for kind, experiments in data["kinds"].items()
            for name, entry in experiments.items() if name != "machine"]


@pytest.mark.parametrize("kind, name, entry", _trials())
def test_a_trials_summary_counts_its_runs(kind, name, entry):
    steps = [v for run in entry["runs"] for v in run["steps"].values()]
    flagged = sum(any(v["verdict"] == "slower" for v in run["steps"].values()) for run in entry["runs"])
    assert entry["summary"]["runs"] == len(entry["runs"]) and entry["summary"]["runs_flagged_slower"] == flagged
    assert entry["summary"]["steps_flagged_before_confirmation"] == sum(v["first"] == "slower" for v in steps)
    assert entry["summary"]["steps"] == len(steps)
    assert entry["summary"]["steps_inconclusive"] == sum(v["verdict"] == "inconclusive" for v in steps)
    assert all(v["verdict"] == "slower" or v["second"] != "slower" for v in steps)  # the rule itself


@pytest.mark.parametrize("kind, name, entry", [t for t in _trials() if "replayed_with_todays_rule" in t[2]])
def test_a_trial_made_under_an_earlier_rule_replays_to_the_rates_it_states_for_today_s(kind, name, entry):
    from rnn_models.selfcheck.gate_trial import replay

    thresholds, _ = load_calibrations(BASELINES)[kind]
    replayed = entry["replayed_with_todays_rule"]
    stated = {k: v for k, v in replayed.items() if k not in ("rule", "min_effect", "estimator", "looks")}
    assert replayed.get("min_effect", thresholds.min_effect) == thresholds.min_effect
    assert replayed.get("estimator", UNNAMED_ESTIMATOR) == thresholds.estimator
    assert tuple(replayed.get("looks", thresholds.looks)) == thresholds.looks
    assert replay(entry, thresholds, family=16) == stated


# Stored trials that miss issue 28's targets (the A/A's, replayed with today's thresholds; the
# power's, as run), each named here with its reason: strict, so the day one meets it again this
# list must shrink.
KNOWN_SHORTFALLS = {
    ("intel-r-xeon-r-processor-family-6-model-167-2-cores", "injected_0.05_basic_lstm_train"):
        "the noisy day's held-out +5% basic_lstm train trial, replayed with the median (4.0% minimum "
        "effect): 18 of 20, against 19 of 20 with the Hodges-Lehmann estimate and 3.6% (docs/decisions.md)",
}


def _with_known_shortfalls(trials):
    return [_xfail_if_known(KNOWN_SHORTFALLS, (kind, name), kind, name, entry) for kind, name, entry in trials]


def _replayed_aa_trials():
    return _with_known_shortfalls((kind, name, entry) for kind, name, entry in _trials()
                                  if "replayed_with_todays_rule" in entry and name.startswith("aa"))


@pytest.mark.parametrize("kind, name, entry", _replayed_aa_trials())
def test_a_whole_gate_trial_replayed_with_today_s_rule_keeps_to_one_false_alarm_in_20_runs(kind, name, entry):
    stated = entry["replayed_with_todays_rule"]
    assert stated["runs_flagged_slower"] <= max(1, stated["runs"] // 20)


def _made_with_the_retimes(entry):
    return all("retimes_units" in v for run in entry["runs"] for v in run["steps"].values())


def _placed_as_todays_calibration(kind, entry):
    """Whether the trial's workers were placed as its kind's calibration's were, timed and
    building (``speed.ab.PLACEMENT`` and ``BUILD_PLACEMENT``; a record that names neither came
    before the pinning, one without the second before the builds on the cores in turn)."""
    _, data = load_calibrations(BASELINES)[kind]
    return all(entry.get(k) == data.get(k) for k in ("placement", "build_placement"))


def _estimator(entry):
    """The estimator that judged a trial: one that names none came before the median's."""
    return entry["thresholds"].get("estimator", UNNAMED_ESTIMATOR)


def _judged_by_todays_thresholds(kind, entry):
    thresholds, _ = load_calibrations(BASELINES)[kind]
    t = entry["thresholds"]
    return (t["min_effect"], t["pairs"], _estimator(entry)) == (thresholds.min_effect, thresholds.pairs,
                                                                thresholds.estimator)


@pytest.mark.parametrize("kind, name, entry", [t for t in _trials() if _made_with_the_retimes(t[2])])
def test_a_trial_made_with_the_retimes_replays_to_its_own_verdicts(kind, name, entry):
    """Its stored units and retimes, judged by today's rule with the thresholds that judged it,
    give the runs it flagged: what it stored is what the gate decided on. One judged by other
    thresholds than its kind's today (a calibration derived again since) states its replay
    with today's, which the test above checks; unless its workers were placed otherwise than
    the calibration's (before the A/B pinned each pair to one core, or built on the cores in
    turn): today's thresholds do not describe units timed so."""
    from rnn_models.selfcheck.gate_trial import replay

    thresholds, _ = load_calibrations(BASELINES)[kind]
    if not _judged_by_todays_thresholds(kind, entry):
        if _placed_as_todays_calibration(kind, entry):
            assert "replayed_with_todays_rule" in entry, "judged by other thresholds, with no replay by today's"
        thresholds = dataclasses.replace(thresholds, min_effect=entry["thresholds"]["min_effect"],
                                         process_sigma=entry["thresholds"]["process_sigma"],
                                         looks=tuple(entry["thresholds"].get("looks", thresholds.looks)),
                                         estimator=_estimator(entry))
    assert entry["thresholds"]["pairs"] == thresholds.pairs
    assert replay(entry, thresholds, family=16) == {k: entry["summary"][k] for k in ("runs", "runs_flagged_slower")}
    assert entry["summary"]["retimes"] == sum(len(v["retimes_units"]) for run in entry["runs"] for v in run["steps"].values())


@pytest.mark.parametrize("kind, name, entry", [t for t in _trials() if t[1].startswith("aa")])
def test_a_whole_gate_trial_keeps_to_one_false_alarm_in_20_runs(kind, name, entry):
    """Issues 23 and 28: at most 1 of 20 whole-gate A/A runs flagged, quiet or beside a second
    job (the inconclusive verdicts, which pass, are counted in the summary)."""
    runs = entry["summary"]["runs"]
    assert entry["summary"]["runs_flagged_slower"] <= max(1, runs // 20)
    if name == "aa":
        assert runs >= 20


def _lean_per_run(entry):
    """Each run's mean over its steps of the median of the step's units: the log of how much
    slower the current side timed, where both sides hold the same code."""
    return [statistics.mean(statistics.median(v["units"]) for v in run["steps"].values()) for run in entry["runs"]]


def test_the_sides_set_up_alike_took_away_the_current_side_s_lean_in_the_gate_s_a_a():
    """docs/decisions.md: on Zen 4 the whole-gate A/A (the checkout against a worktree) timed the
    current side slower before the sides were set up alike (aa80fbe), and not after; the two
    trials differ."""
    from scipy import stats

    trials = json.loads(TRIALS.read_text())["kinds"]["amd-epyc-family-25-model-17-2-cores"]
    before, after = _lean_per_run(trials["aa_2026-12-05"]), _lean_per_run(trials["aa"])
    assert trials["aa"]["code"].startswith("aa80fbe") and "code" not in trials["aa_2026-12-05"]
    assert stats.ttest_1samp(before, 0.0).pvalue < 0.05 < stats.ttest_1samp(after, 0.0).pvalue
    assert stats.mannwhitneyu(before, after).pvalue < 0.05


def _quiet_5_percent_trials_on_a_calibrated_kind():
    return [(kind, name, entry) for kind, name, entry in _trials()
            if name.startswith("injected_0.05") and entry["thresholds"]["how"].startswith("calibrated on this")]


@pytest.mark.parametrize("kind, name, entry", _with_known_shortfalls(_quiet_5_percent_trials_on_a_calibrated_kind()))
def test_a_quiet_5_percent_trial_on_a_calibrated_kind_is_flagged_in_19_of_20_runs(kind, name, entry):
    """Issue 28's power target, held out from the calibration: the whole gate as CI runs it, in
    another session than the runs the thresholds came from, judged by its kind's own calibration
    (by today's rule where the trial came before it: its stated replay)."""
    result = entry.get("replayed_with_todays_rule", entry["summary"])
    assert result["runs"] >= 20 and result["runs_flagged_slower"] >= result["runs"] - max(1, result["runs"] // 20)


# --- the speed bisect on a known +15% slowdown (bisect-check) --------------------------

BISECT_CHECK = BASELINES / "bisect_check.json"


@pytest.mark.skipif(not BISECT_CHECK.is_file(), reason="no bisect-check result is stored")
def test_the_stored_bisect_check_counts_its_runs_never_guesses_and_meets_its_target():
    """Issue 21: the speed bisect of an 8-commit history on a tuned +15% commit. Its summary
    counts its runs, the slowdown was tuned within tolerance, a wrong commit is named in at
    most 1 of 20 runs (a run that cannot decide ends with suspects, exit 1, naming nothing),
    and the right one in at least 19 of 20."""
    data = json.loads(BISECT_CHECK.read_text())
    runs, slow = data["runs"], data["history"]["slow_commit"]
    assert data["summary"]["runs"] == len(runs) == data["settings"]["repeats"]
    assert all(run["right"] == (run["named"] == slow) for run in runs)
    assert all(run["named"] is None for run in runs if run["exit_code"] != 0)
    assert data["summary"]["named_right"] == sum(run["right"] for run in runs)
    assert abs(data["tuning"]["measured"]["ratio"] - (1 + data["settings"]["slowdown"])) <= data["settings"]["tolerance"]
    assert data["summary"]["named_wrong"] <= len(runs) / 20
    assert data["summary"]["named_right"] >= 19 * len(runs) / 20  # the target, 19 of 20


BISECT_CHECK_AA = BASELINES / "bisect_check_aa.json"


@pytest.mark.skipif(not BISECT_CHECK_AA.is_file(), reason="no A/A bisect-check result is stored")
def test_the_stored_aa_bisect_check_names_a_commit_in_at_most_1_of_20_runs():
    """Issue 21's false alarms: bisects of a history without a slowdown (``bisect-check --aa``)
    name a commit in at most 1 of 20 runs; every other run ends with exit 1, naming nothing."""
    data = json.loads(BISECT_CHECK_AA.read_text())
    runs = data["runs"]
    assert data["settings"]["aa"] and data["history"]["slow_commit"] is None and data["tuning"] is None
    assert data["summary"]["runs"] == len(runs) == data["settings"]["repeats"]
    assert all(run["right"] == (run["named"] is None) for run in runs)
    assert all(run["exit_code"] == 1 for run in runs if run["named"] is None)
    assert data["summary"]["named_wrong"] == sum(run["named"] is not None for run in runs) <= len(runs) / 20


def test_a_trials_summary_on_made_up_runs():
    from rnn_models.selfcheck.gate_trial import summary

    runs = [{"steps": {"a": {"verdict": "slower", "first": "slower"},
                       "b": {"verdict": "inconclusive", "first": "inconclusive"}}},
            {"steps": {"a": {"verdict": "unchanged", "first": "slower"},  # not confirmed
                       "b": {"verdict": "unchanged", "first": "unchanged"}}}]
    assert summary(runs) == {"runs": 2, "runs_flagged_slower": 1, "steps_flagged_before_confirmation": 2,
                             "retimes": 0, "steps": 4, "steps_inconclusive": 1, "runs_with_an_inconclusive": 1}


def test_a_replay_with_other_looks_cuts_every_sample_to_its_last_look_and_keeps_them_whole():
    from rnn_models.selfcheck.gate_check import derive

    stored = _speed(next(k for k in KINDS if _speed(k)["thresholds"].get("pairs", 1) > 1
                         and _speed(k)["thresholds"]["looks"] == [16, 32]))  # today's derivation, two looks
    again = json.loads(json.dumps(derive(stored)["measured"]))
    assert again["injected"] == stored["measured"]["injected"]  # the stored looks: the stored rates
    assert all(again["aa"][k] == stored["measured"]["aa"][k] for k in ("verdicts", "units_used", "runs_with_false_alarm"))
    one_look = derive(stored, looks=[16], alpha=0.02)
    assert one_look["thresholds"]["looks"] == [16] and one_look["thresholds"]["family_alpha"] == 0.02
    assert {len(d) for run in one_look["samples"]["aa"] for d in run.values()} == {32}  # kept for other looks
    assert set(one_look["measured"]["aa"]["units_used"]) == {"16"}
    cut = {**stored, "samples": {"aa": [{s: d[:16] for s, d in run.items()} for run in stored["samples"]["aa"]],
                                 "injected": [{**g, "samples": [d[:16] for d in g["samples"]]}
                                              for g in stored["samples"]["injected"]]}}
    assert derive(cut, looks=[16], alpha=0.02)["measured"] == one_look["measured"]  # as if the runs took 16
    assert stored["thresholds"]["looks"] == [16, 32]  # the stored calibration is left as it was
    with pytest.raises(ValueError, match="^--looks 16 40: the stored samples hold 32 units each"):
        derive(stored, looks=[16, 40])
