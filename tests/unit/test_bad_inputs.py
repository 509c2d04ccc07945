"""Bad inputs and faults, as a user meets them.

Each case asserts what the user sees: the documented exit code (``python -m rnn_models``:
0 done, 1 a non-finite run whose result is still written, 2 an error on one line of
stderr, 130 Ctrl-C, 143 SIGTERM; ``pytest benchmarks``: 4, one ``ERROR:`` line at configure
time, 2 when stopped), a message that names the argument or the file, and that no result or
baseline file is lost or half-written. Errors must come before any work: training and data
loading are replaced by stand-ins that fail the test when called. The cases that need a real
process (the suite's configure-time errors, real signals, updates): tests/integration.
"""

import builtins
import errno
import gzip
import hashlib
import json
import os
import shutil
import signal
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
from tests import ROOT
from tests.unit.test_baseline import make_baseline, make_result
from tests.unit.test_train import synthetic_arrays

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


STORED_CALIBRATION = str(sorted((ROOT / "baselines" / "speed_gate").glob("*.json"))[0])  # 32 units a sample


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
    pytest.param(args("--test-steps", "0"), ["--test-steps", "0"], id="test-steps-0"),
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


def interrupt_after_the_second_step(monkeypatch):
    """Ctrl-C as the run reports its second step: two steps done, the third not begun."""
    from rnn_models.training.progress import ConsoleProgress

    real_update = ConsoleProgress.update

    def update(self, step, loss):
        real_update(self, step, loss)
        if step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(ConsoleProgress, "update", update)


def interrupt_while_loading(monkeypatch):
    def load(path):
        raise KeyboardInterrupt

    monkeypatch.setattr("rnn_models.data.load_mnist", load)


@pytest.mark.parametrize("interrupt, steps", [
    pytest.param(interrupt_after_the_second_step, 2, id="during-training"),
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


def kept_runs(text, *extra):
    """An interrupted gate-check's kept runs at ``{tmp}/gate.json.partial``, then ``extra``."""
    def setup(tmp, monkeypatch):
        (tmp / "gate.json.partial").write_text(text)
        return args(*extra)(tmp, monkeypatch)
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
    pytest.param("gate-check", args("--from", STORED_CALIBRATION, "--runs", "5",
                                    "--out", "{tmp}/gate.json"),
                 ["--runs: a measurement's setting, but --from measures nothing"], id="gate-check-from-with-runs"),
    pytest.param("gate-check", args("--from", STORED_CALIBRATION, "--looks", "16", "40",
                                    "--out", "{tmp}/gate.json"),
                 ["--looks 16 40: the stored samples hold 32 units each"], id="gate-check-from-looks-past-the-samples"),
    pytest.param("gate-check", args("--cells", "gru,foo"), ["--cells", "foo"], id="gate-check-cells-unknown"),
    pytest.param("gate-check", args("--slowdown", "1.5"), ["--slowdown", "1.5"], id="gate-check-slowdown-1.5"),
    pytest.param("gate-check", args("--runs", "0"), ["--runs", "0"], id="gate-check-runs-0"),
    pytest.param("gate-check", args("--resume", "--out", "{tmp}/gate.json"),
                 ["--resume: no interrupted measurement's runs at {tmp}/gate.json.partial"], id="gate-check-resume-nothing"),
    pytest.param("gate-check", kept_runs('{"settings": {}, "groups": {}}', "--out", "{tmp}/gate.json"),
                 ["{tmp}/gate.json.partial", "--resume continues them, or remove the file"],
                 id="gate-check-kept-runs-without-resume"),
    pytest.param("gate-check", kept_runs('{"settings": {"runs": 20}, "groups": {}}', "--resume", "--runs", "5",
                                         "--out", "{tmp}/gate.json"),
                 ["--resume: {tmp}/gate.json.partial was measured with other settings", "runs 20 there, 5 now"],
                 id="gate-check-resume-other-settings"),
    pytest.param("gate-check", kept_runs('{"settings": ', "--resume", "--out", "{tmp}/gate.json"),
                 ["--resume: {tmp}/gate.json.partial cannot be read"], id="gate-check-resume-corrupt"),
    pytest.param("gate-check", args("--from", STORED_CALIBRATION, "--resume", "--out", "{tmp}/gate.json"),
                 ["--resume: a measurement's setting, but --from measures nothing"], id="gate-check-from-with-resume"),
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


def test_the_stored_speed_runs_machine_is_told_apart_by_its_cpu_not_its_keys_format(tmp_path):
    from rnn_models.machine.numerics_pin import without_cpu
    from rnn_models.records.speed_runs import StoredRun, fingerprint_warning

    here = {"cpu": "AMD EPYC (family/model/stepping 25/17/1)", "cores": 2,
            "numerics": "x86_64/avx512f-native/authenticamd-25-17-l1d32k/tensorflow-2.21.0/keras-3.15.1"}
    assert without_cpu(here["numerics"]) == "x86_64/avx512f-native/tensorflow-2.21.0/keras-3.15.1"
    assert without_cpu("gpu-nvidia-h200/tensorflow-2.21.0/keras-3.15.1") == "gpu-nvidia-h200/tensorflow-2.21.0/keras-3.15.1"

    def stored(**changes):
        fingerprint = {**here, "numerics": without_cpu(here["numerics"]), **changes}  # stored before the CPU part
        return StoredRun(tmp_path / "0004_baseline.json", 4, {"machine_info": {"rnnbench_fingerprint": fingerprint}})

    assert fingerprint_warning(stored(), here) is None  # the same machine kind, its key in the older form
    assert fingerprint_warning(stored(numerics=here["numerics"]), here) is None
    other_cpu = fingerprint_warning(stored(cpu="Intel(R) Xeon(R) Processor (family/model/stepping 6/167/0)"), here)
    assert "recorded on another machine" in other_cpu and "cpu: stored" in other_cpu and "numerics" not in other_cpu
    other_isa = fingerprint_warning(stored(numerics="x86_64/avx2-native/tensorflow-2.21.0/keras-3.15.1"), here)
    assert "numerics: stored 'x86_64/avx2-native/" in other_isa and "\n" not in other_isa


# --- signals: SIGTERM is handled as Ctrl-C is (the real signals: tests/integration) ------


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
