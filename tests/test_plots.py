"""Plots: every series is drawn (identical runs visibly so), the speed plot has PyTorch bars
and spreads, phases have one vocabulary, and reading results needs no TensorFlow."""

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnn_models import plots
from rnn_models.config import PHASES
from rnn_models.records.baselines import CellBaseline
from tests.test_baseline import FIXTURES, make_result, seed_runs

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
def baselines():
    return {"lstm": CellBaseline.from_results(seed_runs("lstm"), tutorial_floor=0.85),
            "gru": CellBaseline.from_results(seed_runs("gru", finals=(0.93, 0.94, 0.92)))}


def labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def test_speed_rows_read_each_step_and_each_pytorch_reference():
    rows = plots.speed_rows_from_benchmark_json(BENCHMARK_JSON)
    assert [(r["cell"], r["device"], r["phase"], r["impl"]) for r in rows] == [
        ("lstm", "CPU:0", "train", "rnnbench"), ("lstm", "CPU:0", "inference", "rnnbench"),
        ("gru", "CPU:0", "train", "rnnbench"), ("gru", "GPU:0", "train", "rnnbench"),
        ("lstm", "CPU:0", "train", "torch")]  # the entry without a cell is skipped
    assert rows[0] == {"cell": "lstm", "device": "CPU:0", "phase": "train", "impl": "rnnbench",
                       "median_s": 0.0122, "q1_s": 0.0118, "q3_s": 0.0128, "ratio_to_torch": 1.8,
                       "ratio_to_limit": 0.6}
    assert {r["phase"] for r in rows} <= set(PHASES)  # one vocabulary: train and inference


def test_speed_rows_from_a_bad_file_name_it(tmp_path):
    path = tmp_path / "0001_bench.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match="0001_bench.json"):
        plots.speed_rows_from_benchmark_json(path)


def test_learning_curves_draw_every_cell(runs, baselines):
    fig = plots.learning_curves_figure({**runs, "gru (baseline)": baselines["gru"]})
    for ax in fig.axes:
        assert labels(ax) == ["lstm", "gru", "gru (baseline)"]


def test_identical_runs_are_both_visible_and_labelled(runs):
    same = {"lstm": runs["lstm"], "basic_lstm": dataclasses.replace(
        runs["lstm"], config=runs["lstm"].config.replace(cell="basic_lstm")), "gru": runs["gru"]}
    fig = plots.learning_curves_figure(same)
    for ax in fig.axes:
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"lstm", "basic_lstm (identical to lstm)", "gru"}
        drawn_over = lines["basic_lstm (identical to lstm)"]
        assert drawn_over.get_linestyle() == "--" and drawn_over.get_color() != lines["lstm"].get_color()
        assert list(drawn_over.get_ydata()) == list(lines["lstm"].get_ydata())


def test_speed_plot_draws_each_step_beside_its_pytorch_reference_with_spread():
    rows = plots.speed_rows_from_benchmark_json(BENCHMARK_JSON)
    fig = plots.speed_figure(rows)
    gids = {p.get_gid() for ax in fig.axes for p in ax.patches if p.get_gid()}
    assert gids == {f"{r['cell']}|{r['phase']}|{r['impl']}" for r in rows}
    assert "lstm|train|torch" in gids and "lstm|train|rnnbench" in gids
    whiskers = [c for ax in fig.axes for c in ax.collections]  # the IQR error bars
    assert len(whiskers) == len(rows)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["train (rnnbench)", "train (PyTorch)", "inference (rnnbench)", "inference (PyTorch)"]


def test_against_baseline_draws_the_seed_band_mean_reference_and_run(runs, baselines):
    fig = plots.against_baseline_figure(runs, baselines)
    for ax in fig.axes:
        assert labels(ax)[-1] == "this run"
        assert "baseline seed 0" in labels(ax) and "baseline mean over seeds" in labels(ax)
        band = [c for c in ax.collections if "band" in c.get_label()]
        assert len(band) == 1 and "seeds" in band[0].get_label()
    assert "tutorial floor 0.850" in labels(fig.axes[0])


def test_plot_files(tmp_path, runs, baselines):
    assert_png(plots.plot_learning_curves(runs, tmp_path / "runs.png"))
    assert_png(plots.plot_speed(plots.speed_rows_from_benchmark_json(BENCHMARK_JSON), tmp_path / "s.png"))
    assert_png(plots.plot_speed([], tmp_path / "empty.png"))
    assert_png(plots.plot_against_baseline(runs["lstm"], baselines["lstm"], tmp_path / "one.png"))


def test_plot_all(tmp_path, runs, baselines):
    base_dir, out_dir = tmp_path / "baselines", tmp_path / "plots"
    for baseline in baselines.values():
        baseline.save(base_dir)
    # No stored speed run yet: the speed plot is skipped.
    assert plots.plot_all(base_dir, out_dir) == [out_dir / "learning_curves.png"]

    bench_dir = base_dir / "benchmarks" / plots_machine_id()
    bench_dir.mkdir(parents=True)
    (bench_dir / "0001_old.json").write_text('{"benchmarks": []}')
    shutil.copy(BENCHMARK_JSON, bench_dir / "0002_new.json")
    paths = plots.plot_all(base_dir, out_dir, results=runs)
    assert paths == [out_dir / "learning_curves.png", out_dir / "against_baseline.png",
                     out_dir / "speed.png"]
    for path in paths:
        assert_png(path)
    assert plots.plot_all(tmp_path / "nowhere", out_dir, benchmark_json=BENCHMARK_JSON) == [
        out_dir / "speed.png"]


def plots_machine_id():
    from rnn_models.records.speed_runs import machine_id

    return machine_id()


def test_reading_baselines_and_plotting_loads_no_tensorflow(tmp_path):
    """A fresh interpreter reads the committed baselines and draws every plot, and neither
    TensorFlow nor Keras is imported (``python -m rnn_models plot`` is this path)."""
    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys\n"
        "from rnn_models.commands import main\n"
        f"assert main(['plot', '--baselines', {str(root / 'baselines')!r}, '--out', {str(tmp_path)!r}]) == 0\n"
        "import rnn_models.records.results, rnn_models.records.baselines\n"
        "from rnn_models.records.baselines import load_all\n"
        f"assert load_all({str(root / 'baselines')!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learning_curves.png", "speed.png"]
