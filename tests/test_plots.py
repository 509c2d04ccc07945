"""Plots: every function writes a PNG; speed rows come from pytest-benchmark JSON."""

import os
import shutil
from pathlib import Path

import pytest

from rnn_models import plots
from rnn_models.baseline import CellBaseline
from tests.test_baseline import FIXTURES, MARGINS, make_result

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BENCHMARK_JSON = FIXTURES / "benchmarks" / "Linux-CPython-3.11-64bit" / "0001_speed.json"


def assert_png(path):
    data = Path(path).read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_MAGIC), path


@pytest.fixture
def runs():
    return {
        "lstm": make_result("lstm"),
        "gru": make_result("gru", test_accuracy=(0.8, 0.93), train_loss=(1.2, 0.8, 0.5, 0.3)),
    }


@pytest.fixture
def baselines(runs):
    return {cell: CellBaseline.from_result(run, MARGINS, tutorial_floor=0.85)
            for cell, run in runs.items()}


def test_speed_rows_from_benchmark_json():
    rows = plots.speed_rows_from_benchmark_json(BENCHMARK_JSON)
    assert rows == [
        {"cell": "lstm", "device": "cpu", "phase": "train", "median_s": 0.0122,
         "ratio_to_torch": 1.8, "ratio_to_limit": 0.6},
        {"cell": "lstm", "device": "cpu", "phase": "test", "median_s": 0.0047,
         "ratio_to_limit": 0.4},
        {"cell": "gru", "device": "cpu", "phase": "train", "median_s": 0.0247},
        {"cell": "gru", "device": "gpu", "phase": "train", "median_s": 0.0059,
         "ratio_to_torch": 2.5},
    ]  # the entry without extra_info.cell is skipped


def test_speed_rows_from_bad_file_names_it(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="bench.json"):
        plots.speed_rows_from_benchmark_json(path)


def test_learning_curves_from_runs_and_baselines(tmp_path, runs, baselines):
    assert_png(plots.plot_learning_curves(runs, tmp_path / "runs.png"))
    assert_png(plots.plot_learning_curves(baselines, tmp_path / "baselines.png"))
    mixed = {"lstm": runs["lstm"], "gru (baseline)": baselines["gru"]}
    assert_png(plots.plot_learning_curves(mixed, tmp_path / "mixed.png"))


def test_plot_speed(tmp_path):
    rows = plots.speed_rows_from_benchmark_json(BENCHMARK_JSON)
    assert_png(plots.plot_speed(rows, tmp_path / "speed.png"))
    assert_png(plots.plot_speed([], tmp_path / "empty.png"))


def test_plot_against_baseline(tmp_path, runs, baselines):
    assert_png(plots.plot_against_baseline(runs["lstm"], baselines["lstm"], tmp_path / "one.png"))
    assert_png(plots.plot_against_baseline(runs, baselines, tmp_path / "all.png"))
    no_floor = {"lstm": CellBaseline.from_result(runs["lstm"], MARGINS, None)}
    assert_png(plots.plot_against_baseline(runs, no_floor, tmp_path / "partial.png"))


def test_plot_all(tmp_path, runs, baselines):
    base_dir, out_dir = tmp_path / "baselines", tmp_path / "plots"
    for baseline in baselines.values():
        baseline.save(base_dir)
    # No benchmark JSON yet: the speed plot is skipped.
    assert plots.plot_all(base_dir, out_dir) == [out_dir / "learning_curves.png"]

    bench_dir = base_dir / "benchmarks" / "Linux-CPython-3.11-64bit"
    bench_dir.mkdir(parents=True)
    older, newer = bench_dir / "0001_old.json", bench_dir / "0002_new.json"
    older.write_text('{"benchmarks": []}')
    shutil.copy(BENCHMARK_JSON, newer)
    os.utime(older, (1, 1))
    assert plots.newest_benchmark_json(base_dir / "benchmarks") == newer

    paths = plots.plot_all(base_dir, out_dir, results=runs)
    assert paths == [out_dir / "learning_curves.png", out_dir / "against_baseline.png",
                     out_dir / "speed.png"]
    for path in paths:
        assert_png(path)
    assert plots.plot_all(tmp_path / "nowhere", out_dir, benchmark_json=BENCHMARK_JSON) == [
        out_dir / "speed.png"]
