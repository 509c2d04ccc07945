"""Each tutorial cell's 10-epoch run (clipped at 5.0) against its stored seed distribution.

With nothing changed, seed 0 reproduces the stored seed-0 run bit for bit and that is the
verdict; otherwise more seeds decide it statistically (``rnn_models.regression.accuracy``).
``--update-baselines`` instead runs every baseline seed and records the distribution.
"""

import pytest

from rnn_models.records.baselines import CellBaseline
from rnn_models.records.seeds import seed_problems
from rnn_models.registry import get_spec
from rnn_models.regression.accuracy import judge, policy_for
from rnn_models.suite.matrix import baseline_seeds


@pytest.mark.slow
@pytest.mark.gates_accuracy
def test_accuracy_against_seed_distribution(cell, matrix_runs, baseline_dir, report_run, report_accuracy,
                                            pytestconfig):
    baseline = CellBaseline.load(baseline_dir, cell)  # before any training: a missing file is named

    def run_seeds(seeds):
        results = matrix_runs(cell, seeds)
        for result in results:
            report_run(result)
        return results

    first = run_seeds([0])[0]
    problems = seed_problems(first, get_spec(cell).tutorial_accuracy)
    assert not problems, f"{cell}: {'; '.join(problems)}"
    outcome = judge(baseline, first, run_seeds, policy_for(cell),
                    skip_identical=pytestconfig.getoption("--accuracy-statistical"))
    report_accuracy(outcome)
    assert not outcome.fails, "accuracy regression:\n" + outcome.table()


@pytest.mark.slow
@pytest.mark.records_baseline
def test_record_seed(cell, seed, matrix_runs, report_run):
    """One seed of a cell's distribution, for --update-baselines (which writes them all at the
    end, only if every seed is finite and above the tutorial's figure). The cell's first
    test trains all its seeds, side by side in the training pool when there is one."""
    result = matrix_runs(cell, baseline_seeds(cell))[baseline_seeds(cell).index(seed)]
    report_run(result)
    problems = seed_problems(result, get_spec(cell).tutorial_accuracy)
    assert not problems, f"{cell}: {'; '.join(problems)}"
