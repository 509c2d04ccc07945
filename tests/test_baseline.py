"""Baselines: storage, the config check, the comparison rules and the numerics file."""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from rnn_models.baseline import (
    AtLeast,
    AtMost,
    BaselineMismatchError,
    CellBaseline,
    MissingBaselineError,
    compare,
    format_table,
    get_rule,
    load_all,
    load_numerics,
    metric_values,
    numerics_outcome,
    save_numerics,
)
from rnn_models.config import TrainConfig
from rnn_models import results  # not its names: pytest would try to collect TestEpoch
from rnn_models.results import NonFinite, RunResult

FIXTURES = Path(__file__).parent / "fixtures"
MARGINS = {
    "test_accuracy": (0.02, "3 seeded runs, margin = 3 x std, at least 0.005"),
    "final_train_loss": (0.05, "3 seeded runs, margin = 3 x std"),
}


def make_result(cell="lstm", test_accuracy=(0.7, 0.9), train_loss=(1.5, 1.0, 0.7, 0.5),
                nonfinite=None, **config_changes):
    """A tiny hand-made RunResult: one epoch per test accuracy, 10 steps per train window."""
    epochs = max(1, len(test_accuracy))
    config = TrainConfig(cell=cell, epochs=epochs, steps_per_epoch=20,
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
    )


def make_baseline(tutorial_floor=0.85, **kwargs):
    return CellBaseline.from_result(make_result(**kwargs), MARGINS, tutorial_floor=tutorial_floor)


def rows_by_metric(rows):
    return {row.metric: row for row in rows}


# --- storage ------------------------------------------------------------------------


def test_round_trip(tmp_path):
    baseline = make_baseline()
    path = baseline.save(tmp_path)
    assert path == tmp_path / "lstm.json"
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["metrics"]["test_accuracy"] == {
        "value": 0.9, "margin": 0.02, "rule": "min", "margin_source": MARGINS["test_accuracy"][1]}
    assert data["metrics"]["final_train_loss"]["rule"] == "max"
    assert data["config"]["cell"] == "lstm"
    assert len(data["curves"]["train_curve"]) == 4 and len(data["curves"]["test_curve"]) == 2
    assert CellBaseline.load(tmp_path, "lstm") == baseline
    assert [p.name for p in tmp_path.iterdir()] == ["lstm.json"]  # no temporary file left


def test_round_trip_keeps_nan_in_curves(tmp_path):
    result = make_result(train_loss=(1.5, math.nan, 0.7, 0.5))
    CellBaseline.from_result(result, MARGINS, None).save(tmp_path)
    loaded = CellBaseline.load(tmp_path, "lstm")
    assert math.isnan(loaded.train_curve[1].loss)
    assert loaded.tutorial_floor is None


def test_metric_values():
    assert metric_values(make_result()) == {"test_accuracy": 0.9, "final_train_loss": 0.5}
    empty = metric_values(make_result(test_accuracy=(), train_loss=()))
    assert all(math.isnan(v) for v in empty.values())


def test_from_result_refuses_bad_margins_and_nonfinite_metrics():
    with pytest.raises(ValueError, match="missing"):
        CellBaseline.from_result(make_result(), {"test_accuracy": (0.01, "x")})
    with pytest.raises(ValueError, match=">= 0"):
        CellBaseline.from_result(make_result(), {**MARGINS, "test_accuracy": (-0.1, "x")})
    with pytest.raises(ValueError, match="final_train_loss"):
        CellBaseline.from_result(make_result(train_loss=(1.0, math.nan)), MARGINS)


def test_committed_fixture_loads_and_compares():
    baseline = CellBaseline.load(FIXTURES / "baselines", "gru")
    assert baseline.metrics["test_accuracy"].value == 0.9
    assert baseline.tutorial_floor == 0.93
    result = make_result(cell="gru", test_accuracy=(0.7, 0.95), train_loss=(1.5, 1.0, 0.7, 0.52))
    rows = rows_by_metric(compare(result, baseline))
    assert rows["test_accuracy"].ok and rows["final_train_loss"].ok and rows["finite"].ok
    assert rows["tutorial_floor"].ok
    assert list(load_all(FIXTURES / "baselines")) == ["gru"]


def test_missing_baseline_names_the_file(tmp_path):
    with pytest.raises(MissingBaselineError, match=str(tmp_path / "gru.json")):
        CellBaseline.load(tmp_path, "gru")


def test_corrupt_json_names_the_file(tmp_path):
    (tmp_path / "lstm.json").write_text('{"schema_version": 1, "cell": ')
    with pytest.raises(ValueError, match=f"{tmp_path / 'lstm.json'}"):
        CellBaseline.load(tmp_path, "lstm")


def test_invalid_content_names_the_file(tmp_path):
    (tmp_path / "lstm.json").write_text('{"schema_version": 1, "cell": "lstm"}')
    with pytest.raises(ValueError, match="lstm.json is not a valid baseline"):
        CellBaseline.load(tmp_path, "lstm")


def test_other_schema_version_is_refused(tmp_path):
    path = make_baseline().save(tmp_path)
    data = json.loads(path.read_text())
    data["schema_version"] = 99
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="schema_version 99"):
        CellBaseline.load(tmp_path, "lstm")


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
    result = make_result(seed=3, cell_kwargs={"forget_bias": 0.0})
    with pytest.raises(BaselineMismatchError) as info:
        compare(result, baseline)
    message = str(info.value)
    assert "seed: baseline 0, now 3" in message
    assert 'cell_kwargs: baseline {}, now {"forget_bias": 0.0}' in message
    assert "epochs" not in message


def test_config_mismatch_counts_epochs():
    with pytest.raises(BaselineMismatchError, match="epochs: baseline 2, now 3"):
        compare(make_result(test_accuracy=(0.7, 0.8, 0.9)), make_baseline())


def test_log_every_is_ignored():
    baseline = make_baseline()
    result = make_result()
    result = dataclasses.replace(result, config=result.config.replace(log_every=250))
    assert all(row.ok for row in compare(result, baseline))


# --- comparison ---------------------------------------------------------------------


def test_rules():
    assert not AtLeast().fails(0.88, 0.9, 0.02)
    assert AtLeast().fails(0.88 - 1e-6, 0.9, 0.02)
    assert AtLeast().fails(math.nan, 0.9, 0.02)
    assert not AtMost().fails(0.55, 0.5, 0.05)
    assert AtMost().fails(0.55 + 1e-6, 0.5, 0.05)
    assert AtMost().fails(math.nan, 0.5, 0.05)
    assert AtLeast().allowed(0.9, 0.02) == ">= 0.8800"
    assert AtMost().allowed(0.5, 0.05) == "<= 0.5500"
    assert isinstance(get_rule("min"), AtLeast) and isinstance(get_rule("max"), AtMost)
    with pytest.raises(ValueError, match="Valid rules: min, max"):
        get_rule("median")


def test_boundary_passes_and_just_below_fails():
    baseline = make_baseline()
    edge_acc, edge_loss = 0.9 - 0.02, 0.5 + 0.05
    at_edge = rows_by_metric(compare(
        make_result(test_accuracy=(0.7, edge_acc), train_loss=(1.5, 1.0, 0.7, edge_loss)), baseline))
    assert at_edge["test_accuracy"].ok and at_edge["final_train_loss"].ok
    past = rows_by_metric(compare(make_result(
        test_accuracy=(0.7, edge_acc - 1e-6), train_loss=(1.5, 1.0, 0.7, edge_loss + 1e-6)), baseline))
    assert not past["test_accuracy"].ok and not past["final_train_loss"].ok
    assert past["test_accuracy"].allowed == ">= 0.8800"
    assert past["test_accuracy"].baseline == 0.9


def test_nan_fails():
    rows = rows_by_metric(compare(
        make_result(train_loss=(1.5, 1.0, 0.7, math.nan), test_accuracy=(0.7, math.nan)),
        make_baseline()))
    assert not rows["test_accuracy"].ok
    assert not rows["final_train_loss"].ok
    assert not rows["tutorial_floor"].ok


def test_finite_row():
    baseline = make_baseline()
    assert rows_by_metric(compare(make_result(), baseline))["finite"].ok
    broken = make_result(nonfinite=NonFinite(epoch=1, step=7, loss_finite=False,
                                             variables=("rnn/kernel", "rnn/bias")))
    row = rows_by_metric(compare(broken, baseline))["finite"]
    assert not row.ok
    assert row.now == "non-finite at step 7 (2 gradients)"


def test_tutorial_floor_row():
    rows = compare(make_result(test_accuracy=(0.7, 0.9)), make_baseline(tutorial_floor=0.945))
    floor = rows_by_metric(rows)["tutorial_floor"]
    assert (floor.baseline, floor.now, floor.allowed, floor.ok) == (0.945, 0.9, ">= 0.9450", False)
    assert [r.metric for r in rows] == ["test_accuracy", "final_train_loss", "tutorial_floor",
                                        "finite"]
    no_floor = compare(make_result(), make_baseline(tutorial_floor=None))
    assert "tutorial_floor" not in rows_by_metric(no_floor)


def test_compare_refuses_another_cell():
    with pytest.raises(ValueError, match="'gru' run with a 'lstm' baseline"):
        compare(make_result(cell="gru"), make_baseline())


def test_format_table():
    rows = compare(make_result(test_accuracy=(0.7, 0.5)), make_baseline())
    table = format_table(rows)
    lines = table.splitlines()
    assert [c.strip() for c in lines[0].split("|")] == [
        "cell", "metric", "baseline", "now", "allowed", "status"]
    assert len(lines) == 2 + len(rows)
    assert len({line.index("|") for line in lines if "|" in line}) == 1  # aligned
    for row, line in zip(rows, lines[2:]):
        assert row.metric in line and row.status in line and row.allowed in line
    assert "0.5000" in table and "FAIL" in table and "ok" in table


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


def test_numerics_merge_update_keeps_other_cases(tmp_path):
    assert load_numerics(tmp_path) == {}
    ok, broken = numerics_outcome(make_result()), numerics_outcome(make_result(
        nonfinite=NonFinite(epoch=1, step=3, loss_finite=False, variables=("v",))))
    save_numerics(tmp_path, {"ln_tutorial": broken, "ln_clipped": ok})
    save_numerics(tmp_path, {"ln_tutorial": ok, "ln_low_lr": ok})
    stored = load_numerics(tmp_path)
    assert stored == {"ln_tutorial": ok, "ln_clipped": ok, "ln_low_lr": ok}
    make_baseline().save(tmp_path)
    assert list(load_all(tmp_path)) == ["lstm"]  # the numerics file is not a baseline


def test_corrupt_numerics_names_the_file_and_is_kept(tmp_path):
    path = tmp_path / "numerics.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="numerics.json"):
        save_numerics(tmp_path, {"case": numerics_outcome(make_result())})
    assert path.read_text() == "{not json"
