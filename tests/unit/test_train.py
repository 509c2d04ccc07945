"""The training engine on small data the tests make (the real-MNIST smoke test:
tests/integration/test_train.py)."""

import json
import math

import numpy as np
import pytest

from rnn_models.commands import main
from rnn_models.config import TrainConfig
from rnn_models.data import MnistArrays, prepare
from rnn_models.records.results import RunResult
from rnn_models.training.train import NonFiniteGradientError, train_and_evaluate


def synthetic_arrays(n_train=1024, n_test=256, blank_rows=0, seed=0):
    """Learnable MNIST-shaped uint8 data: label k lights up rows 2k+4 and 2k+5."""
    rng = np.random.default_rng(seed)

    def images(n):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for k, label in enumerate(labels):
            x[k, 2 * label + 4 : 2 * label + 6] = 250
        x[:, :blank_rows] = 0
        return x, labels

    (x_train, y_train), (x_test, y_test) = images(n_train), images(n_test)
    return MnistArrays(x_train, y_train, x_test, y_test, source="synthetic")


@pytest.fixture(scope="module")
def small_data():
    return prepare(synthetic_arrays(), split="keras")


SMALL = TrainConfig(cell="gru", units=8, batch_size=64, epochs=2, log_every=5)


def test_run_records_curves_and_context(small_data):
    result = train_and_evaluate(SMALL, small_data)
    assert result.steps == 2 * (1024 // 64)
    assert [w.step for w in result.train_curve] == [5, 10, 15, 20, 25, 30, 32]
    assert [e.epoch for e in result.test_curve] == [1, 2]
    assert result.finite and result.max_grad_norm > 0
    assert result.train_sec_per_iter > 0 and result.test_sec_per_iter > 0
    assert result.device.startswith("CPU") and result.kernel_path == "generic loop, unrolled"
    assert set(result.versions) >= {"tensorflow", "keras", "numpy", "python"}
    first, last = result.train_curve[0], result.train_curve[-1]
    assert last.loss < first.loss  # it learns
    assert 0.0 <= last.accuracy_min <= last.accuracy_mean <= 1.0


def test_same_seed_same_loss_curve_other_seed_differs(small_data):
    config = SMALL.replace(epochs=1)
    losses = [[w.loss for w in train_and_evaluate(config, small_data).train_curve] for _ in range(2)]
    assert losses[0] == losses[1]
    other = [w.loss for w in train_and_evaluate(config.replace(seed=1), small_data).train_curve]
    assert other != losses[0]


def test_clipping_bounds_the_applied_update_but_records_the_raw_norm(small_data):
    result = train_and_evaluate(SMALL.replace(epochs=1, clip_norm=1e-3), small_data)
    assert result.finite and result.max_grad_norm > 1e-3


def test_check_numerics_names_the_variables_on_blank_rows():
    # TF1's layer-norm cell at epsilon 1e-12 on inputs that start with blank rows: the
    # mechanism of the tutorial's NaN, injected by the data rather than by hand.
    data = prepare(synthetic_arrays(blank_rows=4), split="keras")
    config = SMALL.replace(cell="ln_basic_lstm", check_numerics=True)
    with pytest.raises(NonFiniteGradientError, match=r"step 1 \(loss finite\) for: .*layer_norm_basic_lstm_cell/kernel") as caught:
        train_and_evaluate(config, data)
    assert not any("logits" in v for v in caught.value.nonfinite.variables)
    assert caught.value.result.steps == 1


def test_unguarded_non_finite_run_stops_and_is_recorded():
    data = prepare(synthetic_arrays(blank_rows=4), split="keras")
    result = train_and_evaluate(SMALL.replace(cell="ln_basic_lstm"), data)
    assert not result.finite and result.nonfinite.step == 1 and result.test_curve == ()


def test_result_json_round_trip_with_nan(small_data, tmp_path):
    result = train_and_evaluate(SMALL.replace(epochs=1, steps_per_epoch=3, log_every=1), small_data)
    nan_window = result.train_curve[0].__class__(1, 1, math.nan, 0.5, 0.5, 0.01)
    result = result.__class__(**{**result.__dict__, "train_curve": (nan_window,) + result.train_curve[1:]})
    path = tmp_path / "out" / "result.json"
    result.save(path)
    assert json.loads(path.read_text())["train_curve"][0]["loss"] is None
    loaded = RunResult.load(path)
    assert math.isnan(loaded.train_curve[0].loss)
    assert loaded.train_curve[1:] == result.train_curve[1:] and loaded.config == result.config
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]  # no temp file left


def test_corrupt_result_json_is_named(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="Cannot read run result .*bad.json"):
        RunResult.load(tmp_path / "bad.json")


def test_tensorboard_scalars_per_cell(small_data, tmp_path):
    train_and_evaluate(SMALL.replace(epochs=1), small_data, logdir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test_gru", "train_gru"]
    assert all(any(d.iterdir()) for d in tmp_path.iterdir())


def test_data_of_another_task_is_refused(small_data):
    with pytest.raises(ValueError, match="config.task='pixels' needs \\[784, 1\\]"):
        train_and_evaluate(SMALL.replace(task="pixels"), small_data)


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["cells"]) == 0
    listed = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert listed["lstm"].endswith("generic loop, unrolled up to 64 steps")
    assert listed["ln_basic_lstm"].endswith("generic loop (XLA)")

    missing = tmp_path / "nowhere"
    assert main(["train", "--cell", "gru", "--data", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err

    assert main(["train", "--cell", "lstm", "--cell-arg", "proj_clip=1.0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "proj_clip=1.0" in err and "num_proj" in err

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--cell", "nope"])
    assert exit_info.value.code == 2


def test_cli_trains_writes_the_result_and_flags_a_non_finite_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256))
    out = tmp_path / "gru.json"
    args = ["train", "--cell", "gru", "--epochs", "1", "--steps-per-epoch", "5", "--units", "4",
            "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert RunResult.load(out).config.units == 4
    assert "test accuracy" in capsys.readouterr().out
    out.unlink()
    assert main(args + ["--test-steps", "2"]) == 0  # a short probe's test pass: two batches
    assert RunResult.load(out).config.test_steps == 2

    monkeypatch.setattr("rnn_models.data.load_mnist",
                        lambda path: synthetic_arrays(6000, 256, blank_rows=4))
    ln_args = args[:2] + ["ln_basic_lstm"] + args[3:]
    out.unlink()
    assert main(ln_args) == 1
    assert "non-finite" in capsys.readouterr().err
    assert not RunResult.load(out).finite  # exit 1: the run stopped, and its result is written
    out.unlink()
    assert main(ln_args + ["--check-numerics"]) == 1
    assert "non-finite" in capsys.readouterr().err
    assert RunResult.load(out).nonfinite.variables  # the named gradients are in the result


def test_cli_several_seeds_report_mean_and_spread(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256))
    args = ["train", "--cell", "basic_rnn", "--epochs", "1", "--steps-per-epoch", "5", "--units", "4",
            "--seeds", "0", "1", "2", "--out", str(tmp_path / "runs"), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "basic_rnn over 3 seeds: test accuracy mean" in out and " sd " in out
    seeds = sorted(RunResult.load(p).config.seed for p in (tmp_path / "runs").iterdir())
    assert seeds == [0, 1, 2]


@pytest.mark.parametrize("cell, cell_kwargs, fast_path", [
    ("gru", {}, "generic loop, unrolled"),
    ("ln_basic_lstm", {"epsilon": 1e-3}, "generic loop (XLA)"),
])
def test_unrolling_and_xla_give_the_same_losses(small_data, cell, cell_kwargs, fast_path):
    # The defaults were chosen because they were measured faster (unrolled 28 rows; XLA
    # for the layer-norm cell); they must not change results.
    config = SMALL.replace(cell=cell, cell_kwargs=cell_kwargs, epochs=1)
    fast = train_and_evaluate(config, small_data)
    plain = train_and_evaluate(config.replace(jit_compile=False, unroll=False), small_data)
    np.testing.assert_allclose([w.loss for w in fast.train_curve],
                               [w.loss for w in plain.train_curve], rtol=1e-4)
    assert (fast.kernel_path, plain.kernel_path) == (fast_path, "generic loop")


def test_make_step_names_an_unknown_phase():
    from rnn_models.training.model import build_model
    from rnn_models.training.steps import make_step

    config = SMALL.replace(units=4)
    with pytest.raises(ValueError, match="Unknown phase 'eval'; valid: train, inference"):
        make_step(build_model(config), config, "eval")
