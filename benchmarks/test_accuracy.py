"""Accuracy and loss of the tutorial's 10-epoch run, per cell, against baselines/."""

import pytest

from rnn_models.baseline import CellBaseline, compare, format_table, load_margins
from rnn_models.registry import get_spec


@pytest.mark.slow
def test_accuracy_and_loss_within_baseline_margin(cell, matrix_run, baseline_dir, update_baselines):
    result = matrix_run(cell)
    if update_baselines:
        margins = {metric: (m["margin"], m["source"]) for metric, m in load_margins(baseline_dir)[cell].items()}
        CellBaseline.from_result(result, margins, get_spec(cell).tutorial_accuracy).save(baseline_dir)
    # A baseline of another config raises BaselineMismatchError naming the fields.
    rows = compare(result, CellBaseline.load(baseline_dir, cell))
    named = f"\nnon-finite gradients: {', '.join(result.nonfinite.variables)}" if result.nonfinite else ""
    assert all(row.ok for row in rows), "accuracy regression:\n" + format_table(rows) + named
