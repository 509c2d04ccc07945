"""A suite run's page (``pytest benchmarks --report FILE.html``), built from a fixture of
verdicts as the suite hands them over: what failed first, every verdict with its interval
and thresholds, each seed, the curves, the budget, the data beside it; and the verdicts'
``to_dict`` on the real outcome types."""

import json
import math

import pytest

from rnn_models.history.rundata import KIND, failures, run_data
from rnn_models.history.runpage import render_run, write_run_page
from rnn_models.suite.matrix import check_suite_options
from tests.history_fixtures import ROOT, verdicts


@pytest.fixture
def failed_page(tmp_path):
    data = run_data(**verdicts(failing=True))
    return write_run_page(tmp_path / "run.html", data), data


def test_a_failed_run_says_what_failed_first(failed_page):
    page, data = failed_page
    html = page.read_text()
    assert html.index('id="verdict"') < html.index('id="speed"') < html.index('id="accuracy"')
    banner = html.split('id="verdict">')[1].split("</div>")[0]
    assert banner.startswith("FAILED")
    assert "speed: lstm train CPU:0 slower" in banner and "accuracy: lstm fail" in banner
    assert "test failed" not in banner  # the failed tests are those of the verdicts named above
    assert "<title>rnnbench run: FAILED</title>" in html


def test_every_verdict_with_its_interval_thresholds_and_seeds(failed_page):
    page, data = failed_page
    html = page.read_text()
    speed = html.split('id="speed"')[1].split("</section>")[0]
    assert speed.count("<tr data-cell=") == 3
    assert "1.150 [1.100, 1.210]" in speed and "SLOWER" in speed and "within rules" in speed
    assert "at least 3.0%" in speed and "median:150%" in speed and "amd-epyc-family-25-model-17-2-cores" in speed
    accuracy = html.split('id="accuracy"')[1].split("</section>")[0]
    assert "+0.0120 [+0.0070, +0.0170]" in accuracy and "identical" in accuracy
    assert "0: 0.9550, 1: 0.9580, 2: 0.9600" in accuracy  # each of this run's seeds
    stored = json.loads((ROOT / "baselines" / "lstm.json").read_text())["seeds"]
    assert len([a for a in data["accuracy"] if a["cell"] == "lstm"][0]["stored_seeds"]) == len(stored)
    curves = html.split('id="curves"')[1].split("</section>")[0]
    assert curves.count("<svg") == 4  # gru and lstm, loss and accuracy
    assert "matrix of 3 runs of 2 cells" in html


def test_the_data_goes_beside_the_page_and_matches_it(failed_page):
    page, _ = failed_page
    stored = json.loads(page.with_suffix(".json").read_text())
    assert stored["kind"] == KIND and stored["schema_version"] == 1
    inline = page.read_text().split('id="run-data">')[1].split("</script>")[0]
    assert json.loads(inline) == stored


def test_a_passing_run_and_an_unreachable_interval():
    data = run_data(**verdicts(failing=False))
    data["speed"][0]["ab"]["high"] = math.inf  # an interval the units could not reach
    html = render_run(data)
    assert 'id="verdict">PASSED' in html and failures(data) == []
    assert "1.004 [0.981, –]" in html
    assert "Infinity" not in html.split('id="run-data">')[1]


def test_a_run_that_failed_elsewhere_names_its_test_or_its_exit():
    data = run_data(**{**verdicts(failing=False), "failed": ["benchmarks/test_budget.py::test_budget"],
                       "exitstatus": 1})
    assert failures(data) == ["test failed: benchmarks/test_budget.py::test_budget"]
    data = run_data(**{**verdicts(failing=False), "exitstatus": 2, "notes": ["stopped by Ctrl-C"]})
    assert failures(data) == ["pytest exit status 2: stopped by Ctrl-C"]


def test_outcomes_as_data_from_the_real_types():
    from rnn_models.regression.accuracy import AccuracyOutcome, DEFAULT_POLICY, decide
    from rnn_models.regression.speed import Decision
    from rnn_models.speed.ab import ABResult
    from rnn_models.speed.gate import GateOutcome

    look = decide([0.97, 0.971, 0.969], [0.95, 0.951, 0.949], 0.01, DEFAULT_POLICY, (0, 1, 2))  # paired
    outcome = AccuracyOutcome("gru", "fail", "decided after 3 seeds", (look,), 4, (0.95, 0.951, 0.949), DEFAULT_POLICY)
    data = json.loads(json.dumps(outcome.to_dict()))
    assert data["looks"][0]["seeds"] == [0, 1, 2] and data["policy"]["min_drop"] == DEFAULT_POLICY.min_drop
    ab = ABResult("gru", "train", "CPU:0", Decision("slower", 1.1, 1.05, 1.15, 20), (0.1,) * 20, 8, 0.0066, 0.006, {})
    gate = GateOutcome("n", "gru", "train", "CPU:0", "ab", "slower", True, "detail", ab, "A/B")
    assert json.loads(json.dumps(gate.to_dict()))["ab"] == {
        "ratio": 1.1, "low": 1.05, "high": 1.15, "units": 20, "unit_steps": 8,
        "current_median_s": 0.0066, "baseline_median_s": 0.006}


def test_report_option_is_checked_before_the_run(tmp_path):
    values = dict(cells=None, epochs=None, update=False, baselines=str(ROOT / "baselines"), plots=None,
                  speed_summary=None)
    with pytest.raises(ValueError, match=r"^--report .*run\.txt: expected a file name ending in \.html"):
        check_suite_options(**values, report=str(tmp_path / "run.txt"))
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"^--report "):
        check_suite_options(**values, report=str(tmp_path / "file" / "run.html"))
    assert check_suite_options(**values, report=str(tmp_path / "run.html")) is None


