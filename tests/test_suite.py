"""The suite's definitions: matrix configs, numerics cases, margins."""

import pytest

from rnn_models.baseline import load_margins, save_margins
from rnn_models.registry import REGISTRY
from rnn_models.suite import (NUMERICS_CASES, format_budget, margin_from_runs, matrix_budget,
                              matrix_cells, matrix_config)


def test_matrix_is_the_tutorials_five_cells_clipped():
    assert matrix_cells() == ["basic_rnn", "basic_lstm", "lstm", "gru", "ln_basic_lstm"]
    for cell in matrix_cells():
        config = matrix_config(cell)
        assert (config.epochs, config.batch_size, config.units, config.learning_rate) == (10, 128, 31, 1e-3)
        assert config.clip_norm == 5.0 and config.cell_kwargs == REGISTRY[cell].suite_kwargs
    assert matrix_config("ln_basic_lstm").cell_kwargs == {"epsilon": 1e-3, "norm_gain": 0.85, "norm_shift": 0.15}


def test_numerics_cases_are_the_tutorial_and_each_remedy_alone_and_combined():
    tutorial = NUMERICS_CASES["tutorial"]
    assert tutorial.cell == "ln_basic_lstm" and tutorial.check_numerics
    assert tutorial.cell_kwargs == {} and tutorial.clip_norm is None and tutorial.learning_rate == 1e-3
    assert NUMERICS_CASES["lr_1e-4"].learning_rate == 1e-4
    assert NUMERICS_CASES["clip_5"].clip_norm == 5.0
    assert NUMERICS_CASES["gain_0.85_shift_0.15"].cell_kwargs == {"norm_gain": 0.85, "norm_shift": 0.15}
    assert NUMERICS_CASES["epsilon_1e-3"].cell_kwargs == {"epsilon": 1e-3}
    combined = NUMERICS_CASES["all_remedies"]
    assert (combined.learning_rate, combined.clip_norm) == (1e-4, 5.0)
    assert combined.cell_kwargs == {"norm_gain": 0.85, "norm_shift": 0.15, "epsilon": 1e-3}
    assert not any(NUMERICS_CASES[c].check_numerics for c in NUMERICS_CASES if c != "tutorial")


def test_margin_is_three_stds_with_a_floor():
    margin, source = margin_from_runs("test_accuracy", [0.95, 0.96, 0.97])
    assert margin == pytest.approx(0.03)  # std 0.01
    assert "3 seeded runs" in source and "0.9500" in source
    assert margin_from_runs("test_accuracy", [0.97, 0.97])[0] == 0.005
    with pytest.raises(ValueError, match="at least 2 seeded runs"):
        margin_from_runs("test_accuracy", [0.97])


def test_margins_file_merges_and_missing_file_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m rnn_models margins"):
        load_margins(tmp_path)
    save_margins(tmp_path, {"gru": {"test_accuracy": {"margin": 0.01, "source": "s", "values": [1, 2]}}})
    save_margins(tmp_path, {"lstm": {"test_accuracy": {"margin": 0.02, "source": "s", "values": [1, 2]}}})
    assert sorted(load_margins(tmp_path)) == ["gru", "lstm"]


def test_matrix_budget_sums_wall_and_input_and_takes_the_peak():
    import dataclasses

    from tests.test_baseline import make_result

    one = dataclasses.replace(make_result(), wall_time_s=30.0, input_wait_s=0.3, peak_rss_bytes=8e8)
    two = dataclasses.replace(one, wall_time_s=70.0, input_wait_s=0.7, peak_rss_bytes=9e8)
    budget = matrix_budget({"lstm": one, "gru": two})
    assert budget == {"cells": 2, "wall_s": 100.0, "input_s": pytest.approx(1.0),
                      "input_share": pytest.approx(0.01), "peak_rss_bytes": 9e8}
    assert "input 1.0 s = 1.0% (limit 5%)" in format_budget(budget)
