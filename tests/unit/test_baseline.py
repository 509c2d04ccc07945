"""Baselines: seed distributions, their storage and validation, the config check, numerics,
and the update of several files as one transaction."""

import dataclasses
import json
import math

import pytest

from rnn_models.config import TrainConfig
from rnn_models.records import results  # not its names: pytest would try to collect TestEpoch
from rnn_models.records.atomic import Transaction
from rnn_models.records.baselines import (
    BaselineMismatchError,
    CellBaseline,
    MissingBaselineError,
    check_config,
    load_all,
)
from rnn_models.records.numerics_outcomes import load_numerics, numerics_outcome
from rnn_models.records.results import NonFinite, RunResult
from rnn_models.records.seeds import seed_problems
from rnn_models.suite.stored_inputs import check_stored_inputs, stage_update
from tests import FIXTURES



def make_result(cell="lstm", test_accuracy=(0.7, 0.9), train_loss=(1.5, 1.0, 0.7, 0.5),
                nonfinite=None, seed=0, **config_changes):
    """A tiny hand-made RunResult: one epoch per test accuracy, 10 steps per train window."""
    epochs = max(1, len(test_accuracy))
    config = TrainConfig(cell=cell, epochs=epochs, steps_per_epoch=20, seed=seed,
                         test_steps=4, log_every=10, **config_changes)
    per_epoch = max(1, len(train_loss) // epochs)
    train = tuple(
        results.TrainWindow(epoch=i // per_epoch + 1, step=10 * (i + 1), loss=loss,
                            accuracy_mean=0.5, accuracy_min=0.4, sec_per_iter=0.01)
        for i, loss in enumerate(train_loss)
    )
    test = tuple(
        results.TestEpoch(epoch=i + 1, step=20 * (i + 1), loss=1.0 - acc, accuracy_mean=acc,
                          accuracy_min=acc - 0.05, sec_per_iter=0.004)
        for i, acc in enumerate(test_accuracy)
    )
    return RunResult(
        config=config, device="cpu", kernel_path="generic loop",
        versions={"tensorflow": "2.21", "keras": "3.x"}, train_curve=train, test_curve=test,
        train_sec_per_iter=0.01, test_sec_per_iter=0.004, wall_time_s=3.0, input_wait_s=0.1,
        steps=20 * len(test_accuracy), max_grad_norm=2.0, nonfinite=nonfinite,
        fingerprint={"cpu": "test cpu", "numerics": "test/avx2-pinned"},
    )


def seed_runs(cell="lstm", finals=(0.90, 0.91, 0.89, 0.92), **changes):
    """One run per seed 0.. with the given final test accuracies."""
    return [make_result(cell, test_accuracy=(0.7, acc), seed=seed, **changes)
            for seed, acc in enumerate(finals)]


def make_baseline(tutorial_floor=0.85, **kwargs):
    return CellBaseline.from_results(seed_runs(**kwargs), tutorial_floor=tutorial_floor)


# --- making and storing a distribution ----------------------------------------------


def test_round_trip(tmp_path):
    baseline = make_baseline()
    path = baseline.save(tmp_path)
    assert path == tmp_path / "lstm.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == 3 and data["reference_seed"] == 0
    assert [r["seed"] for r in data["seeds"]] == [0, 1, 2, 3]
    assert [r["test_accuracy"][-1] for r in data["seeds"]] == [0.90, 0.91, 0.89, 0.92]
    assert data["seeds"][0]["fingerprint"] == {"cpu": "test cpu", "numerics": "test/avx2-pinned"}
    assert data["config"]["cell"] == "lstm" and data["config"]["seed"] == 0
    assert len(data["curves"]["train_curve"]) == 4 and len(data["curves"]["test_curve"]) == 2
    assert CellBaseline.load(tmp_path, "lstm") == baseline
    assert [p.name for p in tmp_path.iterdir()] == ["lstm.json"]  # no temporary file left


@pytest.mark.parametrize("runs, message", [
    (seed_runs()[:2], "at least 3 seeded runs"),
    (seed_runs()[1:], "needs the seed-0 run"),
    (seed_runs() + seed_runs("gru"), "one cell's runs"),
    (seed_runs()[:3] + [make_result(seed=3, learning_rate=0.5)], "seed 3 differs in learning_rate"),
    (seed_runs()[:3] + [make_result(seed=3, nonfinite=NonFinite(1, 5, False, ("v",)))], "non-finite"),
    (seed_runs()[:3] + [make_result(seed=3, test_accuracy=(0.7, 0.8))], "below the tutorial's 0.850"),
    (seed_runs()[:3] + [make_result(seed=3, test_accuracy=(0.7,))], "seed 3 differs in epochs"),
    (seed_runs()[:3] + [make_result(seed=3, train_loss=(1.0, math.nan))], "non-finite or missing"),
])
def test_a_distribution_is_refused_when_a_run_cannot_be_part_of_it(runs, message):
    with pytest.raises(ValueError, match=message):
        CellBaseline.from_results(runs, tutorial_floor=0.85)


def test_an_interrupted_run_cannot_be_a_baseline():
    runs = seed_runs()[:3] + [dataclasses.replace(make_result(seed=3), interrupted=True)]
    with pytest.raises(ValueError, match="seed 3 did not finish \\(interrupted\\)"):
        CellBaseline.from_results(runs)


def test_the_seed_rule_names_each_reason_a_run_cannot_count():
    """One rule for the baseline's seeds and the accuracy gate's seed 0 (benchmarks/test_accuracy.py)."""
    assert seed_problems(make_result(seed=2, test_accuracy=(0.7, 0.9)), 0.85) == []
    assert seed_problems(make_result(seed=2, test_accuracy=(0.7, 0.8)), None) == []
    assert seed_problems(make_result(seed=2, test_accuracy=(0.7, 0.8)), 0.85) == [
        "seed 2 is below the tutorial's 0.850 (0.8000)"]
    broken = dataclasses.replace(make_result(seed=2, nonfinite=NonFinite(1, 5, False, ("a", "b"))),
                                 interrupted=True)
    assert seed_problems(broken, 0.85) == ["seed 2 did not finish (interrupted)",
                                           "seed 2 did not finish (non-finite at step 5 in a, b)"]
    assert seed_problems(make_result(seed=2, test_accuracy=()), 0.85) == [
        "seed 2 has no test accuracy to hold against the tutorial's 0.850"]


def test_a_reference_of_other_numerics_is_added_once_and_stored(tmp_path):
    baseline = make_baseline()
    other = dataclasses.replace(make_result(train_loss=(1.5, 1.0, 0.7, 0.6)),
                                fingerprint={"cpu": "arm", "numerics": "aarch64/neon-native"})
    added = baseline.with_reference(other)
    assert list(added.references()) == ["test/avx2-pinned", "aarch64/neon-native"]
    added.save(tmp_path)
    assert CellBaseline.load(tmp_path, "lstm").references() == added.references()
    with pytest.raises(ValueError, match="numerics aarch64/neon-native is already stored"):
        added.with_reference(other)
    with pytest.raises(ValueError, match="a reference is a seed-0 run"):
        baseline.with_reference(make_result(seed=1))


def test_more_seeds_are_added_in_order_and_a_run_that_cannot_count_is_refused(tmp_path):
    baseline = make_baseline()  # seeds 0-3
    more = [make_result(test_accuracy=(0.7, acc), seed=seed) for seed, acc in ((5, 0.9), (4, 0.91))]
    added = baseline.with_seeds(more)
    assert [r.seed for r in added.seeds] == [0, 1, 2, 3, 4, 5] and added.references() == baseline.references()
    added.save(tmp_path)
    assert [r.seed for r in CellBaseline.load(tmp_path, "lstm").seeds] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match=r"^cannot add seeds to the 'lstm' baseline: seed 3 is stored already$"):
        baseline.with_seeds([make_result(test_accuracy=(0.7, 0.9), seed=3)])
    with pytest.raises(ValueError, match=r"seed 4 differs in units"):
        baseline.with_seeds([make_result(test_accuracy=(0.7, 0.9), seed=4, units=16)])
    with pytest.raises(ValueError, match=r"seed 4 .*below"):
        baseline.with_seeds([make_result(test_accuracy=(0.7, 0.5), seed=4)])


def test_committed_fixture_loads():
    baseline = CellBaseline.load(FIXTURES / "baselines", "gru")
    assert baseline.tutorial_floor == 0.93 and len(baseline.seeds) == 3
    assert list(load_all(FIXTURES / "baselines")) == ["gru"]


def test_missing_baseline_names_the_file_and_the_command(tmp_path):
    with pytest.raises(MissingBaselineError, match=f"{tmp_path / 'gru.json'}.*--update-baselines"):
        CellBaseline.load(tmp_path, "gru")


@pytest.mark.parametrize("edit, message", [
    (lambda d: "{not json", "Cannot read baseline file"),
    (lambda d: "", "Cannot read baseline file"),
    (lambda d: {**d, "schema_version": 1}, "schema_version 1 is not 3"),
    (lambda d: {**d, "seeds": d["seeds"][:1]}, "at least 3 distinct"),
    (lambda d: {**d, "seeds": [{**d["seeds"][0], "test_accuracy": [0.7, 1.5]}] + d["seeds"][1:]},
     "outside \\[0, 1\\]"),
    (lambda d: {**d, "seeds": [{**d["seeds"][0], "test_accuracy": [0.7, None]}] + d["seeds"][1:]},
     "non-finite"),
    (lambda d: {**d, "curves": {**d["curves"], "test_curve": d["curves"]["test_curve"][:1]}},
     "reference curves"),
    (lambda d: {**d, "config": {**d["config"], "epochs": "ten"}}, "epochs"),
    (lambda d: {k: v for k, v in d.items() if k != "seeds"}, "seeds"),
    (lambda d: {**d, "cell": "gru"}, "holds the baseline of cell 'gru'"),
])
def test_an_invalid_stored_baseline_is_named(tmp_path, edit, message):
    data = make_baseline().to_dict()
    edited = edit(data)
    (tmp_path / "lstm.json").write_text(edited if isinstance(edited, str) else json.dumps(edited))
    with pytest.raises(ValueError, match=message) as info:
        CellBaseline.load(tmp_path, "lstm")
    assert str(tmp_path / "lstm.json") in str(info.value)


def test_failed_save_keeps_the_old_file(tmp_path):
    baseline = make_baseline()
    path = baseline.save(tmp_path)
    before = path.read_bytes()
    broken = dataclasses.replace(baseline, versions={"bad": object()})
    with pytest.raises(TypeError):
        broken.save(tmp_path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lstm.json"]


# --- config check -------------------------------------------------------------------


def test_config_mismatch_names_each_field():
    baseline = make_baseline()
    other = make_result(cell_kwargs={"forget_bias": 0.0}, learning_rate=0.01)
    with pytest.raises(BaselineMismatchError) as info:
        check_config(baseline, other.config)
    message = str(info.value)
    assert "learning_rate: baseline 0.001, now 0.01" in message
    assert 'cell_kwargs: baseline {}, now {"forget_bias": 0.0}' in message
    assert "epochs" not in message


def test_seed_and_log_every_are_not_config_differences():
    baseline = make_baseline()
    check_config(baseline, make_result(seed=7).config.replace(log_every=250))


def test_stored_inputs_are_checked_before_training(tmp_path):
    from rnn_models.suite.matrix import matrix_config

    runs = [dataclasses.replace(r, config=matrix_config("lstm").replace(seed=r.config.seed, epochs=2))
            for r in seed_runs()]
    CellBaseline.from_results(runs).save(tmp_path)
    check_stored_inputs(tmp_path, ["lstm"], epochs=2)
    with pytest.raises(BaselineMismatchError, match="lstm.json was made with a different config \\(epochs"):
        check_stored_inputs(tmp_path, ["lstm"], epochs=3)
    (tmp_path / "numerics.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="numerics.json is not a valid numerics file"):
        check_stored_inputs(tmp_path, ["lstm"], epochs=2)


# --- numerics -----------------------------------------------------------------------


def test_numerics_outcome():
    assert numerics_outcome(make_result()) == {
        "config": make_result().config.to_dict(), "finite": True,
        "first_nonfinite_step": None, "variables": []}
    broken = make_result(nonfinite=NonFinite(epoch=1, step=12, loss_finite=True,
                                             variables=("rnn/norm_gain",)))
    outcome = numerics_outcome(broken)
    assert (outcome["finite"], outcome["first_nonfinite_step"], outcome["variables"]) == (
        False, 12, ["rnn/norm_gain"])


def test_corrupt_numerics_names_the_file(tmp_path):
    (tmp_path / "numerics.json").write_text("{not json")
    with pytest.raises(ValueError, match="numerics.json"):
        load_numerics(tmp_path)


# --- an update: every file, or none ---------------------------------------------------


def test_update_stages_every_baseline_and_merges_numerics(tmp_path):
    (tmp_path / "numerics.json").write_text(json.dumps({"kept": {"finite": True}}))
    finals = (0.95, 0.96, 0.955, 0.965)  # above the tutorial's figures, which an update enforces
    runs = seed_runs("lstm", finals) + seed_runs("gru", finals)
    transaction = Transaction(tmp_path)
    staged = stage_update(transaction, runs, {"new": {"finite": False}}, expected_seeds=(0, 1, 2, 3))
    assert staged == ["lstm.json", "gru.json", "numerics.json"]
    assert not (tmp_path / "lstm.json").exists()  # nothing is written before the commit
    transaction.commit()
    assert sorted(load_all(tmp_path)) == ["gru", "lstm"]
    assert load_numerics(tmp_path) == {"kept": {"finite": True}, "new": {"finite": False}}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru.json", "lstm.json", "numerics.json"]


def test_update_refuses_a_missing_seed(tmp_path):
    runs = seed_runs()[:3]
    with pytest.raises(ValueError, match="lstm: recorded seeds \\[0, 1, 2\\], expected \\[0, 1, 2, 3\\]"):
        stage_update(Transaction(tmp_path), runs, {}, expected_seeds=(0, 1, 2, 3))
