"""Bad inputs and faults, as a user meets them.

Each case asserts what the user sees: the documented exit code (``python -m rnn_models``:
0 done, 1 a non-finite run whose result is still written, 2 an error on one line of
stderr, 130 Ctrl-C, 143 SIGTERM; ``pytest benchmarks``: 4, one ``ERROR:`` line at configure
time, 2 when stopped), a message that names the argument or the file, and that no result or
baseline file is lost or half-written. Errors must come before any work: training and data
loading are replaced by stand-ins that fail the test when called. The signal cases send the
real signal to a real child process (``train``, ``accuracy-check``, the suite) once it is
training, and check what it kept and that none of its workers is left.
"""

import builtins
import errno
import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnn_models.commands import main
from rnn_models.config import TrainConfig
from rnn_models.data.mnist_files import EXPECTED, IDX_FILES
from rnn_models.records.baselines import CellBaseline
from rnn_models.records.results import RunResult
from rnn_models.records.speed_runs import machine_id, newest_run
from tests.test_baseline import make_baseline, make_result
from tests.test_train import synthetic_arrays

ROOT = Path(__file__).resolve().parents[1]

# --- helpers ------------------------------------------------------------------------


def run_cli(capsys, argv):
    """``main(argv)`` -> (exit code, stderr lines, whether argparse refused the arguments)."""
    try:
        code, usage = main([str(a) for a in argv]), False
    except SystemExit as exit_:
        code, usage = exit_.code, True
    return code, capsys.readouterr().err.splitlines(), usage


def assert_one_line_error(command, code, lines, usage, needles):
    """Exit 2 and a single error line holding every needle. argparse's own refusal prints
    its usage first, then one ``error: argument --X: ...`` line."""
    assert code == 2, lines
    errors = [line for line in lines if " error: " in line]
    assert len(errors) == 1, lines
    if usage:
        assert errors == lines[-1:]
        assert errors[0].startswith(f"python -m rnn_models {command}: error: argument ")
    else:
        assert lines == errors and errors[0].startswith(f"rnn_models {command}: error: "), lines
    for needle in needles:
        assert str(needle) in errors[0], (needle, errors[0])


def snapshot(folder):
    """``{relative path: sha256}`` of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def fail_if_called(what):
    def called(*args, **kwargs):
        pytest.fail(f"{what} was called: the error must come before any work")
    return called


@pytest.fixture
def kept(tmp_path):
    """A result already at the ``--out`` path: a failed command must leave it as it was."""
    path = tmp_path / "kept.json"
    make_result().save(path)
    return path


@pytest.fixture
def no_work(monkeypatch):
    """Training and data loading fail the test if reached."""
    monkeypatch.setattr("rnn_models.training.train.train_and_evaluate", fail_if_called("train_and_evaluate"))
    monkeypatch.setattr("rnn_models.data.load_mnist", fail_if_called("load_mnist"))


TINY_TRAIN = ["train", "--cell", "gru", "--epochs", "1", "--steps-per-epoch", "3", "--units", "4",
              "--quiet"]


# --- train: arguments, cell arguments, output paths ---------------------------------


def args(*extra):
    """Plain arguments; ``{tmp}`` stands for the test's folder."""
    return lambda tmp, monkeypatch: [a.format(tmp=tmp) for a in extra]


def out_is_a_directory(tmp, monkeypatch):
    (tmp / "folder").mkdir()
    return ["--out", tmp / "folder"]


def out_parent_is_a_file(tmp, monkeypatch):
    (tmp / "plain").write_text("a file\n")
    return ["--out", tmp / "plain" / "result.json"]


def out_folder_not_writable(tmp, monkeypatch):
    # Root can write anywhere, so the refusal is simulated where records/paths.py probes the folder.
    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), dir)

    monkeypatch.setattr("rnn_models.records.paths.tempfile.mkstemp", refuse)
    return ["--out", tmp / "locked" / "result.json"]


def logdir_is_a_file(tmp, monkeypatch):
    (tmp / "logs").write_text("a file\n")
    return ["--logdir", tmp / "logs"]


TRAIN_ERRORS = [
    pytest.param(args("--cell", "nope"), ["--cell", "nope"], id="cell-unknown"),
    pytest.param(args("--epochs", "0"), ["--epochs", "0"], id="epochs-0"),
    pytest.param(args("--epochs", "abc"), ["--epochs", "abc"], id="epochs-abc"),
    pytest.param(args("--lr", "inf"), ["--lr", "inf"], id="lr-inf"),
    pytest.param(args("--lr", "-1"), ["--lr", "-1"], id="lr-negative"),
    pytest.param(args("--clip", "inf"), ["--clip", "inf"], id="clip-inf"),
    pytest.param(args("--clip", "0"), ["--clip", "0"], id="clip-0"),
    pytest.param(args("--seed", "-1"), ["--seed", "-1"], id="seed-negative"),
    pytest.param(args("--units", "0"), ["--units", "0"], id="units-0"),
    pytest.param(args("--batch", "0"), ["--batch", "0"], id="batch-0"),
    pytest.param(args("--steps-per-epoch", "0"), ["--steps-per-epoch", "0"], id="steps-per-epoch-0"),
    pytest.param(args("--cell", "ln_basic_lstm", "--cell-arg", "dropout_keep_prob=abc"),
                 ["dropout_keep_prob", "'abc'"], id="cell-arg-not-a-number"),
    pytest.param(args("--cell", "ln_basic_lstm", "--cell-arg", "forget_bias=abc"),
                 ["forget_bias", "'abc'"], id="cell-arg-forget-bias-not-a-number"),
    pytest.param(args("--cell-arg", "bogus=1"), ["bogus", "gru"], id="cell-arg-unknown"),
    pytest.param(args("--cell-arg", "noequals"), ["--cell-arg", "noequals"], id="cell-arg-no-equals"),
    pytest.param(args("--cell", "lstm", "--cell-arg", "proj_clip=1.0"),
                 ["--cell-arg", "proj_clip=1.0", "num_proj"], id="cell-arg-proj-clip-without-num-proj"),
    pytest.param(args("--cell", "ln_basic_lstm", "--cell-arg", "dropout_keep_prob=2.0"),
                 ["--cell-arg", "dropout_keep_prob", "2.0"], id="cell-arg-out-of-range"),
    pytest.param(out_is_a_directory, ["--out", "{tmp}/folder", "is a directory"], id="out-is-a-directory"),
    pytest.param(out_parent_is_a_file, ["--out", "{tmp}/plain", "is a file"], id="out-parent-is-a-file"),
    pytest.param(out_folder_not_writable, ["--out", "{tmp}/locked", "Permission denied"],
                 id="out-not-writable"),
    pytest.param(logdir_is_a_file, ["--logdir", "{tmp}/logs", "is a file"], id="logdir-is-a-file"),
]


@pytest.mark.parametrize("setup, needles", TRAIN_ERRORS)
def test_train_refuses_bad_arguments_before_any_work(setup, needles, tmp_path, kept, no_work,
                                                     monkeypatch, capsys):
    argv = TINY_TRAIN + ["--out", kept] + setup(tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    code, lines, usage = run_cli(capsys, argv)
    assert_one_line_error("train", code, lines, usage, [n.format(tmp=tmp_path) for n in needles])
    assert snapshot(tmp_path) == before


# --- train: bad MNIST files ---------------------------------------------------------


def small_arrays():
    a = synthetic_arrays(64, 16)
    return {"x_train": a.x_train, "y_train": a.y_train, "x_test": a.x_test, "y_test": a.y_test}


def data_missing(tmp, monkeypatch):
    return tmp / "nonexistent"


def data_random_bytes(tmp, monkeypatch):
    (tmp / "mnist").mkdir()
    (tmp / "mnist" / "mnist.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    return tmp / "mnist"


def data_truncated_npz(tmp, monkeypatch):
    path = tmp / "mnist.npz"
    np.savez(path, **small_arrays())
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def data_missing_arrays(tmp, monkeypatch):
    path = tmp / "mnist.npz"
    arrays = small_arrays()
    np.savez(path, x_train=arrays["x_train"], y_train=arrays["y_train"])
    return path


def data_unreadable_npz(tmp, monkeypatch):
    # Root reads any file, so the refusal is simulated where the file is opened.
    path = tmp / "mnist.npz"
    np.savez(path, **small_arrays())
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == path:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    return path


def idx_bytes(array):
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def data_corrupt_gz(tmp, monkeypatch):
    folder = tmp / "idx"
    folder.mkdir()
    for name, array in small_arrays().items():
        (folder / f"{IDX_FILES[name]}.gz").write_bytes(gzip.compress(idx_bytes(array)))
    bad = folder / f"{IDX_FILES['x_train']}.gz"
    raw = bytearray(bad.read_bytes())
    raw[20:60] = bytes(40)  # zeroes in the middle of the deflate stream
    bad.write_bytes(bytes(raw))
    return folder


def data_wrong_content(tmp, monkeypatch):
    path = tmp / "mnist.npz"
    np.savez_compressed(path, **{name: np.zeros(spec.shape, spec.dtype) for name, spec in EXPECTED.items()})
    return path


def data_empty_folder(tmp, monkeypatch):
    (tmp / "empty").mkdir()
    return tmp / "empty"


DATA_ERRORS = [
    pytest.param(data_missing, ["{tmp}/nonexistent", "no such file or directory"], id="missing"),
    pytest.param(data_random_bytes, ["{tmp}/mnist/mnist.npz", "not an .npz"], id="random-bytes"),
    pytest.param(data_truncated_npz, ["{tmp}/mnist.npz", "truncated"], id="truncated-npz"),
    pytest.param(data_missing_arrays, ["{tmp}/mnist.npz", "missing array(s)", "x_test"],
                 id="npz-missing-arrays"),
    pytest.param(data_unreadable_npz, ["{tmp}/mnist.npz", "Permission denied"], id="unreadable-npz"),
    pytest.param(data_corrupt_gz, ["{tmp}/idx/train-images-idx3-ubyte.gz", "corrupt or truncated gzip"],
                 id="corrupt-gz-idx"),
    pytest.param(data_wrong_content, ["{tmp}/mnist.npz", "sha256 mismatch", "x_train"],
                 id="npz-wrong-content"),
    pytest.param(data_empty_folder, ["{tmp}/empty", "missing IDX file(s)"], id="folder-without-mnist"),
]


@pytest.mark.parametrize("setup, needles", DATA_ERRORS)
def test_train_names_a_bad_data_file_before_training(setup, needles, tmp_path, kept, monkeypatch,
                                                     capsys):
    monkeypatch.setattr("rnn_models.training.train.train_and_evaluate", fail_if_called("train_and_evaluate"))
    data = setup(tmp_path, monkeypatch)
    before = snapshot(tmp_path)
    code, lines, usage = run_cli(capsys, TINY_TRAIN + ["--out", kept, "--data", data])
    assert_one_line_error("train", code, lines, usage, [n.format(tmp=tmp_path) for n in needles])
    assert snapshot(tmp_path) == before


# --- train: a non-finite run (exit 1) and Ctrl-C (exit 130) -------------------------


@pytest.mark.parametrize("guard", [pytest.param([], id="unguarded"),
                                   pytest.param(["--check-numerics"], id="check-numerics")])
def test_a_non_finite_run_exits_1_with_its_result_written(guard, tmp_path, kept, monkeypatch, capsys):
    # The layer-norm cell at TF1's epsilon has non-finite gradients at step 1 on blank rows.
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256, blank_rows=4))
    files = set(snapshot(tmp_path))
    code, lines, _ = run_cli(capsys, TINY_TRAIN + ["--cell", "ln_basic_lstm", "--out", kept, *guard])
    assert code == 1
    assert len(lines) == 1 and "non-finite" in lines[0] and str(kept) in lines[0]
    result = RunResult.load(kept)
    assert result.nonfinite is not None and result.nonfinite.step == 1 and result.cell == "ln_basic_lstm"
    assert set(snapshot(tmp_path)) == files  # replaced atomically: no temporary file left


def interrupt_on_third_batch(monkeypatch):
    from rnn_models.training.train import _Run

    calls, real_next = [], _Run._next

    def next_batch(self, batches):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_next(self, batches)

    monkeypatch.setattr(_Run, "_next", next_batch)


def interrupt_while_loading(monkeypatch):
    def load(path):
        raise KeyboardInterrupt

    monkeypatch.setattr("rnn_models.data.load_mnist", load)


@pytest.mark.parametrize("interrupt, steps", [
    pytest.param(interrupt_on_third_batch, 2, id="during-training"),
    pytest.param(interrupt_while_loading, None, id="while-loading-data"),
])
def test_ctrl_c_exits_130_with_one_line_and_the_partial_result(interrupt, steps, tmp_path, kept,
                                                                 monkeypatch, capsys):
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256))
    interrupt(monkeypatch)
    before = snapshot(tmp_path)
    code, lines, _ = run_cli(capsys, TINY_TRAIN + ["--out", kept])
    assert code == 130
    assert len(lines) == 1 and "interrupted" in lines[0] and lines[0].startswith("rnn_models train: ")
    if steps is None:  # nothing had run: the earlier result is untouched
        assert snapshot(tmp_path) == before
    else:
        result = RunResult.load(kept)
        assert result.interrupted and result.steps == steps and str(kept) in lines[0]
        assert set(snapshot(tmp_path)) == set(before)


# --- the other commands -------------------------------------------------------------


def results_file(name, data):
    def setup(tmp, monkeypatch):
        (tmp / "baselines").mkdir()
        (tmp / name).write_bytes(data)
        return ["--baselines", tmp / "baselines", "--out", tmp / "plots", "--results", tmp / name]
    return setup


def plot_empty_baselines(tmp, monkeypatch):
    (tmp / "empty").mkdir()
    return ["--baselines", tmp / "empty", "--out", tmp / "plots"]


def plot_out_is_a_file(tmp, monkeypatch):
    (tmp / "baselines").mkdir()
    (tmp / "plots").write_text("a file\n")
    return ["--baselines", tmp / "baselines", "--out", tmp / "plots"]


def profile_logdir_is_a_file(tmp, monkeypatch):
    monkeypatch.setattr("rnn_models.speed.measure.build_step", fail_if_called("build_step"))
    (tmp / "logs").write_text("a file\n")
    return ["--cell", "lstm", "--logdir", tmp / "logs"]


def no_accuracy_runs(*extra):
    def setup(tmp, monkeypatch):
        monkeypatch.setattr("rnn_models.selfcheck.accuracy_check.record", fail_if_called("record"))
        return ["--out", tmp / "accuracy_gate.json", *extra]
    return setup


def ray_address_variable(value):
    def setup(tmp, monkeypatch):
        monkeypatch.setenv("RNN_MODELS_RAY_ADDRESS", value)
        return no_accuracy_runs()(tmp, monkeypatch)
    return setup


GZIPPED_RESULT = gzip.compress(json.dumps(make_result().to_dict()).encode())

COMMAND_ERRORS = [
    pytest.param("profile", args("--cell", "lstm", "--steps", "0"), ["--steps", "0"], id="profile-steps-0"),
    pytest.param("profile", args("--cell", "lstm", "--steps", "abc"), ["--steps", "abc"],
                 id="profile-steps-abc"),
    pytest.param("profile", profile_logdir_is_a_file, ["--logdir", "{tmp}/logs", "is a file"],
                 id="profile-logdir-is-a-file"),
    pytest.param("plot", args("--baselines", "{tmp}/nonexistent"),
                 ["--baselines", "{tmp}/nonexistent", "does not exist"], id="plot-baselines-missing"),
    pytest.param("plot", plot_empty_baselines,
                 ["--baselines", "{tmp}/empty", "no baseline, speed run or result to draw"],
                 id="plot-nothing-to-draw"),
    pytest.param("plot", results_file("result.json.gz", GZIPPED_RESULT),
                 ["{tmp}/result.json.gz", "not a JSON text file"], id="plot-results-gzip"),
    pytest.param("plot", results_file("result.json", b'{"config": '),
                 ["{tmp}/result.json", "Cannot read run result"], id="plot-results-corrupt-json"),
    pytest.param("plot", args("--baselines", "{tmp}", "--out", "{tmp}/plots",
                              "--results", "{tmp}/missing.json"),
                 ["{tmp}/missing.json", "No such file"], id="plot-results-missing"),
    pytest.param("plot", plot_out_is_a_file, ["--out", "{tmp}/plots", "is a file"], id="plot-out-is-a-file"),
    pytest.param("gate-check", args("--inject", "lstm:train", "--cells", "gru", "--out", "{tmp}/gate.json"),
                 ["--inject", "lstm:train", "--cells"], id="gate-check-inject-not-gated"),
    pytest.param("gate-check", args("--inject", "lstm", "--out", "{tmp}/gate.json"),
                 ["--inject", "CELL:PHASE", "'lstm'"], id="gate-check-inject-no-phase"),
    pytest.param("gate-check", args("--from", "{tmp}/missing.json", "--out", "{tmp}/gate.json"),
                 ["{tmp}/missing.json is not a valid A/B gate calibration", "No such file"],
                 id="gate-check-from-missing"),
    pytest.param("gate-check", args("--cells", "gru,foo"), ["--cells", "foo"], id="gate-check-cells-unknown"),
    pytest.param("gate-check", args("--slowdown", "1.5"), ["--slowdown", "1.5"], id="gate-check-slowdown-1.5"),
    pytest.param("gate-check", args("--runs", "0"), ["--runs", "0"], id="gate-check-runs-0"),
    pytest.param("accuracy-check", no_accuracy_runs("--perturb", "bogus"), ["--perturb", "bogus"],
                 id="accuracy-check-perturb-bogus"),
    pytest.param("accuracy-check", no_accuracy_runs("--perturb", "lstm:adam_eps=abc"),
                 ["--perturb", "adam_eps=abc"], id="accuracy-check-perturb-bad-variant"),
    pytest.param("accuracy-check", no_accuracy_runs("--cells", "foo"), ["--cells", "foo"],
                 id="accuracy-check-cells-unknown"),
    pytest.param("accuracy-check", no_accuracy_runs("--aa-variant", "bogus"), ["--aa-variant", "bogus"],
                 id="accuracy-check-aa-variant-bogus"),
    pytest.param("accuracy-check", no_accuracy_runs("--ray-address", "nohost"),
                 ["--ray-address 'nohost': expected auto or HOST:PORT"], id="accuracy-check-ray-address-bad"),
    pytest.param("accuracy-check", ray_address_variable("localhost:port"),
                 ["$RNN_MODELS_RAY_ADDRESS 'localhost:port': expected auto or HOST:PORT"],
                 id="accuracy-check-ray-address-variable-bad"),
]


@pytest.mark.parametrize("command, setup, needles", COMMAND_ERRORS)
def test_commands_refuse_bad_arguments_before_any_work(command, setup, needles, tmp_path, no_work,
                                                       monkeypatch, capsys):
    argv = [command, *setup(tmp_path, monkeypatch)]
    before = snapshot(tmp_path)
    code, lines, usage = run_cli(capsys, argv)
    assert_one_line_error(command, code, lines, usage, [n.format(tmp=tmp_path) for n in needles])
    assert snapshot(tmp_path) == before


# --- the library --------------------------------------------------------------------


def gzipped_result(tmp):
    path = tmp / "result.json.gz"
    path.write_bytes(GZIPPED_RESULT)
    return lambda: RunResult.load(path)


def baseline_accuracy_above_one(tmp):
    path = make_baseline().save(tmp)
    data = json.loads(path.read_text())
    data["seeds"][1]["test_accuracy"][-1] = 1.5
    path.write_text(json.dumps(data))
    return lambda: CellBaseline.load(tmp, "lstm")


def config(**fields):
    return lambda tmp: lambda: TrainConfig(**fields)


LIBRARY_ERRORS = [
    pytest.param(config(task="bogus"), ["`task`", "'bogus'"], id="config-task"),
    pytest.param(config(split="bogus"), ["`split`", "'bogus'"], id="config-split"),
    pytest.param(config(seed="x"), ["`seed`", "'x'"], id="config-seed"),
    pytest.param(config(jit_compile="yes"), ["`jit_compile`", "'yes'"], id="config-jit-compile"),
    pytest.param(config(steps_per_epoch=True), ["`steps_per_epoch`", "True"], id="config-steps-per-epoch-bool"),
    pytest.param(config(learning_rate=float("inf")), ["`learning_rate`", "inf"], id="config-learning-rate-inf"),
    pytest.param(config(clip_norm=float("inf")), ["`clip_norm`", "inf"], id="config-clip-norm-inf"),
    pytest.param(gzipped_result, ["{tmp}/result.json.gz", "not a JSON text file"], id="result-load-gzip"),
    pytest.param(baseline_accuracy_above_one, ["{tmp}/lstm.json", "outside [0, 1]"],
                 id="baseline-accuracy-1.5"),
]


@pytest.mark.parametrize("setup, needles", LIBRARY_ERRORS)
def test_library_refuses_bad_values_naming_them(setup, needles, tmp_path):
    call = setup(tmp_path)
    before = snapshot(tmp_path)
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for needle in needles:
        assert needle.format(tmp=tmp_path) in message, (needle, message)
    assert snapshot(tmp_path) == before


# --- the pytest suite: usage errors at configure time -------------------------------


def baselines_copy(edit):
    def setup(tmp):
        copy = tmp / "baselines"
        shutil.copytree(ROOT / "baselines", copy)
        edit(copy / "lstm.json")
        return ["--baselines", copy]
    return setup


def edit_config(**changes):
    def edit(path):
        data = json.loads(path.read_text())
        data["config"].update(changes)
        path.write_text(json.dumps(data, indent=2))
    return edit


def truncate(path):
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def corrupt_calibration(tmp):
    copy = tmp / "baselines"
    shutil.copytree(ROOT / "baselines", copy)
    calibration = next((copy / "speed_gate").glob("*.json"))
    truncate(calibration)
    return ["--baselines", copy, "--benchmark-compare"]


def options(*opts):
    return lambda tmp: [str(o).format(tmp=tmp) for o in opts]


def regular_file(option):
    def setup(tmp):
        (tmp / "plain").write_text("a file\n")
        return [option, tmp / "plain"]
    return setup


SUITE_ERRORS = [
    pytest.param(options("--cells", "foo"), ["--cells", "foo"], id="cells-unknown"),
    pytest.param(options("--update-baselines", "--epochs", "1"), ["--update-baselines", "--epochs 1"],
                 id="update-baselines-with-epochs"),
    pytest.param(regular_file("--plots"), ["--plots", "{tmp}/plain", "is a file"], id="plots-is-a-file"),
    pytest.param(options("--baselines", "{tmp}/nonexistent"), ["--baselines", "{tmp}/nonexistent"],
                 id="baselines-missing"),
    pytest.param(options("--epochs", "0"), ["--epochs", "positive integer"], id="epochs-0"),
    pytest.param(options("--speed-summary", "{tmp}"), ["--speed-summary", "{tmp}", "is a directory"],
                 id="speed-summary-is-a-directory"),
    pytest.param(options("-n", "2", "--benchmark-compare"), ["--benchmark-compare", "pytest-xdist"],
                 id="xdist-with-benchmark-compare"),
    pytest.param(options("--ray-address", "nohost"), ["--ray-address 'nohost': expected auto or HOST:PORT"],
                 id="ray-address-bad"),
    pytest.param(baselines_copy(edit_config(epochs=3)), ["{tmp}/baselines/lstm.json"],
                 id="baseline-of-other-epochs"),
    pytest.param(baselines_copy(edit_config(units=32)),
                 ["{tmp}/baselines/lstm.json", "different config", "units"],
                 id="baseline-of-other-config"),
    pytest.param(baselines_copy(truncate), ["{tmp}/baselines/lstm.json"], id="baseline-truncated"),
    pytest.param(corrupt_calibration, ["{tmp}/baselines/speed_gate/", "not a valid A/B gate calibration",
                                       "gate-check"], id="speed-calibration-truncated"),
    pytest.param(options("--ab-ref", "no-such-ref", "--benchmark-compare"),
                 ["--ab-ref no-such-ref: the ref no-such-ref is not in"], id="ab-ref-missing"),
]


@pytest.mark.parametrize("setup, needles", SUITE_ERRORS)
def test_suite_reports_bad_options_and_stored_inputs_as_usage_errors(setup, needles, tmp_path):
    opts = [str(o) for o in setup(tmp_path)]
    stored = snapshot(ROOT / "baselines"), snapshot(tmp_path)
    env = {**os.environ, "RNN_MODELS_MNIST": os.environ.get("RNN_MODELS_MNIST", str(tmp_path / "no-mnist"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", *opts, "-p", "no:cacheprovider",
         "--collect-only", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    for needle in needles:
        assert needle.format(tmp=tmp_path) in errors[0], (needle, errors[0])
    assert (snapshot(ROOT / "baselines"), snapshot(tmp_path)) == stored


# --- stored speed runs --------------------------------------------------------------


@pytest.mark.parametrize("content", [
    pytest.param(b"", id="empty"),
    pytest.param(b'{"benchmarks": [{"name": "x", "st', id="truncated"),
    pytest.param(b'{"machine_info": {}}', id="not-a-speed-run"),
])
def test_an_unreadable_stored_speed_run_is_skipped_with_one_line_naming_it(content, tmp_path):
    storage = tmp_path / "benchmarks"
    source = next(p for p in (ROOT / "baselines" / "benchmarks").iterdir() if p.is_dir())
    shutil.copytree(source, storage / machine_id())
    *_, before, bad = sorted((storage / machine_id()).glob("[0-9][0-9][0-9][0-9]_*.json"))
    bad.write_bytes(content)  # the newest run
    warnings = []
    run = newest_run(storage, warn=warnings.append)
    assert run is not None and run.path == before
    naming = [line for line in warnings if str(bad) in line]
    assert len(naming) == 1 and "\n" not in naming[0] and "skipping" in naming[0]


# --- signals: SIGTERM is handled as Ctrl-C is ---------------------------------------


def descendants(pid):
    """The pids of every process below ``pid``, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def alive(pids):
    return [p for p in pids if Path(f"/proc/{p}").exists()
            and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def start(argv, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for(condition, what, process, timeout=180):
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"never saw {what}: {process.communicate()}")
        time.sleep(0.2)


def read_line_containing(process, needle, timeout=180):
    """Reads the process's stdout until a line holding ``needle``; returns what was read."""
    seen = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if needle in line or time.monotonic() > deadline:
            break
    if not seen or needle not in seen[-1]:
        process.kill()
        pytest.fail(f"never saw {needle!r}: {''.join(seen)}{process.communicate()}")
    return seen


STOPS = [pytest.param(signal.SIGINT, 130, "Ctrl-C", id="ctrl-c"),
         pytest.param(signal.SIGTERM, 143, "SIGTERM", id="sigterm")]


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, name", STOPS)
def test_a_stop_signal_keeps_train_s_partial_result_with_one_line(signum, code, name, tmp_path):
    out = tmp_path / "r.json"
    process = start(["-m", "rnn_models", "train", "--cell", "gru", "--units", "16", "--epochs", "3",
                     "--steps-per-epoch", "600", "--out", str(out)])
    read_line_containing(process, "[trn]")  # the first train window is logged: mid-run
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    lines = [line for line in err.splitlines() if line.startswith("rnn_models")]
    assert len(lines) == 1 and "interrupted after step" in lines[0] and f"({name})" in lines[0], err
    assert str(out) in lines[0]
    result = RunResult.load(out)
    assert result.interrupted and result.steps >= 250 and result.train_curve
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left


@pytest.mark.slow
def test_sigterm_stops_a_command_s_worker_processes(tmp_path):
    process = start(["-m", "rnn_models", "accuracy-check", "--cells", "gru", "--perturb-seeds", "1",
                     "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "gate.json")])
    wait_for(lambda: descendants(process.pid), "the training workers", process)
    time.sleep(3)  # the workers are importing TensorFlow or training
    workers = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "rnn_models accuracy-check: interrupted (SIGTERM)", err
    time.sleep(1)
    assert alive(workers) == []
    assert not (tmp_path / "gate.json").exists()


@pytest.mark.slow
def test_sigterm_stops_the_suite_leaving_the_baselines_as_they_were(tmp_path):
    copy = tmp_path / "baselines"
    shutil.copytree(ROOT / "baselines", copy)
    before = snapshot(copy)
    process = start(["-m", "pytest", "benchmarks", "--update-baselines", "-m", "not speed", "--cells", "gru",
                     "--baselines", str(copy), "-p", "no:cacheprovider", "-q"])
    wait_for(lambda: descendants(process.pid), "the training workers", process)
    time.sleep(3)
    workers = descendants(process.pid)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=180)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out + err
    assert "rnnbench: stopped by SIGTERM" in out and "baselines not updated" in out, out
    assert "Traceback" not in out + err
    time.sleep(1)
    assert alive(workers) == []
    after = snapshot(copy)
    after.pop(".rnnbench-update.lock", None)  # the lock's (empty) file stays; git ignores it
    assert after == before


def test_the_stop_handler_raises_once_and_restores_the_handlers():
    from rnn_models.machine import interrupts

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        with interrupts.handle_stop_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises first
            finally:
                os.kill(os.getpid(), signal.SIGINT)  # a second signal during cleanup: noted only
                time.sleep(0.1)
                assert (interrupts.exit_code(), interrupts.describe()) == (143, "SIGTERM")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


# --- where an update writes, and one update at a time --------------------------------


@pytest.mark.slow
def test_an_update_into_another_baselines_folder_writes_its_speed_run_there_and_lists_it(tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(ROOT / "baselines", copy)
    checkout = snapshot(ROOT / "baselines")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks", "--update-baselines", "-m", "speed", "--cells",
         "basic_rnn", "--baselines", str(copy), "-p", "no:cacheprovider", "-q", "-k", "not torch",
         "--benchmark-max-time=0.05", "--benchmark-min-rounds=3"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    new = set(snapshot(copy)) - set(snapshot(ROOT / "baselines"))
    saved = [name for name in new if name.startswith("benchmarks/") and name.endswith("_baseline.json")]
    assert len(saved) == 1, new
    assert snapshot(ROOT / "baselines") == checkout
    report = [line for line in done.stdout.splitlines() if "baselines updated:" in line]
    assert len(report) == 1 and str(copy / saved[0]) in report[0] and "1 files" in report[0], done.stdout


def test_a_second_update_of_the_same_folder_is_refused_with_one_line(tmp_path):
    from rnn_models.records.atomic import lock_for_update

    copy = tmp_path / "baselines"
    shutil.copytree(ROOT / "baselines", copy)
    lock = lock_for_update(copy)  # a first update, still running
    before = snapshot(copy)  # with the lock's empty file, which stays (git ignores it)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "benchmarks", "--update-baselines", "--cells", "gru",
             "--baselines", str(copy), "-p", "no:cacheprovider", "--collect-only", "-q"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        lock.release()
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and str(copy) in errors[0] and "another run" in errors[0], output
    assert snapshot(copy) == before
    lock = lock_for_update(copy)  # free again once the first has ended
    lock.release()


# --- duplicate seeds, a full disk ------------------------------------------------------


def test_a_seed_given_twice_trains_once_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256))
    code, lines, _ = run_cli(capsys, TINY_TRAIN + ["--seeds", "1", "1", "2", "--out", tmp_path])
    assert code == 0, lines
    assert lines == ["rnn_models train: --seeds gives 1 more than once; training each seed once: 1 2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gru_seed1.json", "gru_seed2.json"]


def full_disk(monkeypatch):
    """Every fsync fails as on a full disk (the write-back of the data is where ENOSPC shows)."""
    def fsync(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, kept, monkeypatch, capsys):
    monkeypatch.setattr("rnn_models.data.load_mnist", lambda path: synthetic_arrays(6000, 256))
    before = snapshot(tmp_path)
    full_disk(monkeypatch)
    code, lines, usage = run_cli(capsys, TINY_TRAIN + ["--out", kept])
    assert_one_line_error("train", code, lines, usage, [str(kept), "No space left on device"])
    assert snapshot(tmp_path) == before


def test_plot_onto_a_full_disk_leaves_no_folder(tmp_path, monkeypatch, capsys):
    full_disk(monkeypatch)
    out = tmp_path / "plots" / "new"
    code, lines, usage = run_cli(capsys, ["plot", "--baselines", ROOT / "baselines", "--out", out])
    assert_one_line_error("plot", code, lines, usage, [str(out), "No space left on device"])
    assert list(tmp_path.iterdir()) == []
