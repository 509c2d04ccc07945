"""Each matrix run against issue 5's targets: the share of its wall time spent getting
batches, and the process's peak memory after it. Both are ratios or sizes measured in the
run, not wall-clock times, so machine noise barely moves them."""

import pytest

from rnn_models.suite.matrix import MATRIX_INPUT_SHARE_LIMIT, MATRIX_PEAK_RSS_LIMIT_BYTES, format_budget, matrix_budget


@pytest.mark.slow
def test_run_input_share_and_peak_memory(cell, matrix_run):
    budget = matrix_budget([matrix_run(cell)])
    assert budget["input_share"] < MATRIX_INPUT_SHARE_LIMIT, format_budget(budget)
    assert budget["peak_rss_bytes"] < MATRIX_PEAK_RSS_LIMIT_BYTES, format_budget(budget)
