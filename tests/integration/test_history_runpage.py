"""A suite run's page (``pytest benchmarks --report FILE.html``) written by a real
collect-only session of the suite (the page itself: tests/unit/test_history_runpage.py)."""

import json
import subprocess
import sys

import pytest

from rnn_models.history.rundata import KIND
from tests.history_fixtures import ROOT


@pytest.mark.heavy
def test_the_suite_writes_its_page_where_the_summary_is_made(tmp_path):
    """The plugin's hook, without training: a collect-only session still ends in its summary."""
    report = tmp_path / "run.html"
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--collect-only", "-q", "-p",
                           "no:cacheprovider", "--cells", "gru", "--report", str(report)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"rnnbench: run page written: {report}" in proc.stdout
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["kind"] == KIND and data["exitstatus"] == 0 and data["speed"] == [] and data["runs"] == []
    assert 'id="verdict">PASSED' in report.read_text()
