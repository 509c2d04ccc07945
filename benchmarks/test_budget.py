"""The matrix as a whole: the share of its wall time spent getting batches, and peak
memory, against issue 5's targets. Both are ratios or sizes measured in this run, not
wall-clock times, so machine noise barely moves them."""

import pytest

from rnn_models.baseline import Row, format_table
from rnn_models.suite import (MATRIX_INPUT_SHARE_LIMIT, MATRIX_PEAK_RSS_LIMIT_BYTES, format_budget,
                              matrix_budget)


@pytest.mark.slow
def test_matrix_input_share_and_peak_memory(matrix_cells_selected, matrix_run, record_property):
    budget = matrix_budget({cell: matrix_run(cell) for cell in matrix_cells_selected})
    for key, value in budget.items():
        record_property(key, value)
    rows = [
        Row("matrix", "input share", "-", budget["input_share"], f"< {MATRIX_INPUT_SHARE_LIMIT}",
            budget["input_share"] < MATRIX_INPUT_SHARE_LIMIT),
        Row("matrix", "peak RSS GB", "-", budget["peak_rss_bytes"] / 1e9,
            f"< {MATRIX_PEAK_RSS_LIMIT_BYTES / 1e9}", budget["peak_rss_bytes"] < MATRIX_PEAK_RSS_LIMIT_BYTES),
    ]
    assert all(row.ok for row in rows), format_budget(budget) + "\n" + format_table(rows)
