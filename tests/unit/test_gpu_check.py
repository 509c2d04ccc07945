"""The GPU path, checked where there is no GPU: the numerics pin leaves GPU runs alone (a faked
device list), the kernel path a step records is the one its trace holds (a faked GPU for
Keras), the collector on a made-up results folder, the accuracy-on-device logic with a fake
executor (tools/gpu_check.sh's CPU path: tests/integration/test_gpu_check.py). The real
measurement needs a GPU: docs/gpu.md."""

import dataclasses
import json

import pytest

from rnn_models.machine import numerics_pin
from rnn_models.registry import GENERIC_LOOP, UNROLLED_LOOP
from tests import FIXTURES, ROOT

VERSIONS = {"tensorflow": "2.21.0", "keras": "3.15.1"}


# --- the numerics pin never touches a GPU run -----------------------------------------------


def test_the_pin_applies_to_cpu_runs_only():
    assert numerics_pin.applies("CPU:0") and numerics_pin.applies("/device:CPU:0")
    assert not numerics_pin.applies("GPU:0") and not numerics_pin.applies("/device:GPU:1")
    assert not numerics_pin.applies(None, gpu=True)  # the default device, on a GPU machine
    assert numerics_pin.applies(None, gpu=False)


def test_a_gpu_run_leaves_the_environment_unpinned():
    env = {"XLA_FLAGS": "--xla_gpu_autotune_level=2"}
    assert numerics_pin.apply(env, device="GPU:0") is False
    assert numerics_pin.apply(env, gpu=True) is False  # default device, GPU present
    assert env == {"XLA_FLAGS": "--xla_gpu_autotune_level=2"}


def test_the_gpu_probe_reads_a_faked_device_list(tmp_path):
    gpus = tmp_path / "gpus"
    assert not numerics_pin.gpu_present({}, paths=[str(gpus / "*")])
    (gpus / "0000:00:05.0").mkdir(parents=True)
    assert numerics_pin.gpu_present({}, paths=[str(gpus / "*")])
    for hidden in ("", "-1"):  # CUDA_VISIBLE_DEVICES hides every GPU
        assert not numerics_pin.gpu_present({"CUDA_VISIBLE_DEVICES": hidden}, paths=[str(gpus / "*")])
    assert numerics_pin.applies(None, env={}, gpu=None) == (not numerics_pin.gpu_present({}))


def test_a_gpu_runs_numerics_key_names_the_gpu_not_the_cpu_pin():
    pinned = numerics_pin.pinned_env({})
    assert numerics_pin.numerics_key(VERSIONS, env=pinned, machine="x86_64", flags={"avx", "avx2", "fma"},
                                     cpu="genuineintel-6-167-l1d48k") \
        == "x86_64/avx2-pinned/genuineintel-6-167-l1d48k/tensorflow-2.21.0/keras-3.15.1"
    assert numerics_pin.numerics_key(VERSIONS, env=pinned, machine="x86_64", flags={"avx", "avx2", "fma"}, cpu="") \
        == "x86_64/avx2-pinned/tensorflow-2.21.0/keras-3.15.1"  # no vendor known: the key before the CPU part
    assert numerics_pin.numerics_key(VERSIONS, env=pinned, machine="x86_64", gpu="NVIDIA H200") \
        == "gpu-nvidia-h200/tensorflow-2.21.0/keras-3.15.1"


def test_the_cpu_identity_names_the_model_and_the_l1_data_cache(tmp_path):
    intel = {"vendor_id": "GenuineIntel", "cpu family": "6", "model": "167"}
    assert numerics_pin.cpu_identity(intel, l1d_kib=48) == "genuineintel-6-167-l1d48k"
    assert numerics_pin.cpu_identity({"vendor_id": "AuthenticAMD", "cpu family": "23", "model": "49"},
                                     l1d_kib=32) == "authenticamd-23-49-l1d32k"
    assert numerics_pin.cpu_identity({}, l1d_kib=48) == ""
    cache = tmp_path / "cache"
    levels = [("1", "Instruction", "32K"), ("1", "Data", "48K"), ("2", "Unified", "2048K")]
    for index, (level, kind, size) in enumerate(levels):
        (cache / f"index{index}").mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (cache / f"index{index}" / name).write_text(value + "\n")
    assert numerics_pin.l1_data_cache_kib(cache) == 48
    assert numerics_pin.l1_data_cache_kib(tmp_path / "none") is None


# --- the kernel path ----------------------------------------------------------------------------


def test_kernel_path_by_the_registry():
    from rnn_models.machine.environment import kernel_path

    assert kernel_path("keras_lstm", "GPU:0", False, False) == "cuDNN"
    assert kernel_path("keras_gru", "GPU:0", False, False) == "cuDNN"
    assert kernel_path("keras_lstm", "CPU:0", False, False) == GENERIC_LOOP
    # Keras 3's SimpleRNN has no cuDNN kernel: the generic loop on a GPU too.
    assert kernel_path("keras_simple_rnn", "GPU:0", False, False) == GENERIC_LOOP
    assert kernel_path("lstm", "GPU:0", False, True) == UNROLLED_LOOP
    assert kernel_path("ln_basic_lstm", "GPU:0", True, False) == GENERIC_LOOP + " (XLA)"


def _traced_path(monkeypatch, cell, device):
    """The kernel path of ``cell``'s inference step traced (not run) as on a GPU machine:
    Keras is told a GPU is visible, as it would be there."""
    import importlib

    import numpy as np

    from rnn_models.config import TUTORIAL
    from rnn_models.training.model import build_model
    from rnn_models.training.steps import make_step, traced_kernel_path

    keras_tf_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")  # not its `rnn` function
    monkeypatch.setattr(keras_tf_rnn, "_is_gpu_available", lambda: True)
    config = TUTORIAL.replace(cell=cell)
    step = make_step(build_model(config, device=device), config, "inference")
    x = np.zeros((4, 28, 28), np.float32)
    y = np.zeros((4,), np.int32)
    return traced_kernel_path(step, x, y, "cuDNN" if cell != "keras_simple_rnn" else GENERIC_LOOP)


@pytest.mark.parametrize("cell", ["keras_lstm", "keras_gru"])
def test_the_recorded_kernel_path_is_the_traced_one(monkeypatch, cell):
    assert _traced_path(monkeypatch, cell, "GPU:0") == "cuDNN"
    # A CPU step on a GPU machine keeps off cuDNN (it would run on the GPU, timed as the CPU's).
    assert _traced_path(monkeypatch, cell, "CPU:0") == GENERIC_LOOP


# --- the collector ------------------------------------------------------------------------------


def _run(cell, device, train_s, test_s, accuracy):
    """A made-up RunResult (the collector's input format; the numbers are not measurements)."""
    from rnn_models.records.results import RunResult, TestEpoch, TrainWindow
    from rnn_models.suite.matrix import matrix_config

    return RunResult(config=matrix_config(cell, epochs=1), device=device, kernel_path=UNROLLED_LOOP,
                     versions=dict(VERSIONS), train_curve=(TrainWindow(1, 429, 0.5, 0.8, 0.7, train_s),),
                     test_curve=(TestEpoch(1, 429, 0.4, accuracy, 0.8, test_s),), train_sec_per_iter=train_s,
                     test_sec_per_iter=test_s, wall_time_s=10.0, input_wait_s=0.1, steps=429,
                     max_grad_norm=1.0)


def _bench(name, device, phase, median, kernel="cuDNN"):
    info = {"cell": name, "device": device, "phase": phase, "kernel_path": kernel}
    return {"name": f"test_step_speed[{name}-{device}-{phase}]", "extra_info": info,
            "stats": {"median": median, "q1": median * 0.9, "q3": median * 1.1, "rounds": 60}}


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    (folder / "runs").mkdir(parents=True)
    (folder / "device.json").write_text(json.dumps(
        {"device": "GPU:0", "name": "NVIDIA H200", "why_not": None, "quick": False, "commit": "abc1234"}))
    (folder / "speed.json").write_text(json.dumps({"benchmarks": [
        _bench("keras_lstm", "GPU:0", "train", 0.0015), _bench("keras_lstm", "CPU:0", "train", 0.02),
        _bench("lstm", "GPU:0", "inference", 0.001, UNROLLED_LOOP),
        {"name": "test_torch_reference_speed[lstm-train]", "extra_info": {"reference": "torch"},
         "stats": {"median": 0.01}}]}))
    _run("lstm", "GPU:0 (NVIDIA H200)", 0.002, 0.001, 0.95).save(folder / "runs" / "tutorial_lstm.json")
    _run("gru", "GPU:0 (NVIDIA H200)", 0.004, 0.001, 0.94).save(folder / "runs" / "tutorial_gru.json")
    return folder


def test_the_collector_gathers_one_record(results):
    from rnn_models.records.gpu_report import collect

    record = collect(results)
    assert record["slug"] == "nvidia-h200" and record["commit"] == "abc1234"
    # Only this device's timed steps, in registry order; the PyTorch reference is not one.
    assert [(s["cell"], s["phase"]) for s in record["speed"]] == [("lstm", "inference"), ("keras_lstm", "train")]
    rows = {r["cell"]: r for r in record["tutorial_runs"]}
    assert rows["lstm"]["speedup"] == pytest.approx(0.0257 / 0.002)
    assert rows["gru"]["speedup"] == pytest.approx(0.0247 / 0.004)  # 6.2x: under the goal
    assert not rows["basic_rnn"]["measured"]
    assert record["goal"]["met"] is False
    assert record["goal"]["slowest"]["cell"] == "gru"
    assert record["goal"]["unmeasured"] == ["basic_rnn", "basic_lstm", "ln_basic_lstm"]


def test_the_goal_is_met_only_when_every_cell_is_ten_times_faster(results):
    from rnn_models.records.gpu_report import goal, tutorial_row

    fast = [tutorial_row(c, _run(c, "GPU:0", s / 10.5, 0.001, 0.9)) for c, s in
            (("basic_rnn", 0.0120), ("basic_lstm", 0.0117), ("lstm", 0.0257), ("gru", 0.0247),
             ("ln_basic_lstm", 0.1130))]
    assert goal(fast)["met"] is True
    slow = fast[:-1] + [tutorial_row("ln_basic_lstm", _run("ln_basic_lstm", "GPU:0", 0.1130 / 9.5, 0.01, 0.9))]
    assert goal(slow)["met"] is False
    assert goal([tutorial_row("lstm", None)])["met"] is None


def test_the_page_shows_measured_and_unmeasured_cells(results):
    from rnn_models.records.gpu_report import NOT_MEASURED, collect, fill_page, render

    record = collect(results)
    record["accuracy"] = {"cell": "gru", "device": "GPU:0 (NVIDIA H200)", "identical_to_cpu": False,
                          "first_difference": "train window 1 loss: 1.0 against 1.1", "verdict": "pass",
                          "detail": "decided after 3 seeds", "judged_correctly": True}
    text = render(record)
    assert "| lstm | 25.70 / 6.70 | 2.00 / 1.00 | 12.8x | yes |" in text
    assert "| gru | 24.70 / 6.90 | 4.00 / 1.00 | 6.2x | no |" in text
    assert f"| basic_rnn | 12.00 / 4.70 | {NOT_MEASURED} |" in text
    assert "NOT met; slowest gru at 6.2x" in text
    assert "is not identical to the stored CPU seed-0 run" in text and "as an unchanged model must" in text
    page = fill_page("# GPU\n<!-- gpu-report:begin -->\nold\n<!-- gpu-report:end -->\nafter\n", text)
    assert "old" not in page and text in page and page.endswith("<!-- gpu-report:end -->\nafter\n")
    with pytest.raises(ValueError, match="no <!-- gpu-report:begin -->"):
        fill_page("# GPU\n", text)


def test_the_committed_page_is_the_collectors_unmeasured_table():
    """docs/gpu.md's table is generated, and says nothing was measured yet (no GPU lent)."""
    from rnn_models.records.gpu_report import BEGIN, END, NOT_MEASURED

    page = (ROOT / "docs" / "gpu.md").read_text()
    table = page.partition(BEGIN)[2].partition(END)[0]
    assert table.count(f"| {NOT_MEASURED} |") == 5


# --- seed 0 on a device against the CPU baseline ------------------------------------------------


class _FakeExecutor:
    """Runs that replay the stored seeds' curves (seed 0: the stored reference run), as an
    unchanged model trained elsewhere would give, on ``device``."""

    def __init__(self, baseline, device, change=0.0):
        self.baseline, self.device, self.change, self.seeds = baseline, device, change, []

    def run(self, configs):
        from rnn_models.config import TrainConfig
        from rnn_models.records.results import RunResult, TestEpoch

        out = []
        for data in configs:
            config = TrainConfig.from_dict(data)
            self.seeds.append(config.seed)
            record = next((r for r in self.baseline.seeds if r.seed == config.seed), self.baseline.seeds[0])
            test = tuple(TestEpoch(e.epoch, e.step, loss, acc, acc, e.sec_per_iter) for e, acc, loss in
                         zip(self.baseline.test_curve, record.test_accuracy, record.test_loss))
            if config.seed == 0:
                test = self.baseline.test_curve
            test = tuple(dataclasses.replace(t, accuracy_mean=t.accuracy_mean - self.change) for t in test)
            out.append(RunResult(config=config, device=f"{self.device} (fake)", kernel_path=GENERIC_LOOP,
                                 versions=dict(VERSIONS), train_curve=self.baseline.train_curve, test_curve=test,
                                 train_sec_per_iter=0.001, test_sec_per_iter=0.001, wall_time_s=1.0,
                                 input_wait_s=0.0, steps=429, max_grad_norm=1.0,
                                 fingerprint={"numerics": "gpu-fake/tensorflow-x/keras-y"}))
        return out


def test_accuracy_on_device_reports_identity_and_the_statistical_verdict():
    from rnn_models.records.baselines import CellBaseline
    from rnn_models.regression.device_accuracy import check_on_device

    baseline = CellBaseline.load(FIXTURES / "baselines", "gru")
    same = check_on_device("gru", "GPU:0", FIXTURES / "baselines", executor=_FakeExecutor(baseline, "GPU:0"))
    assert same.identical_to_cpu and same.first_difference == ""
    assert same.verdict == "pass" and same.judged_correctly  # the statistical path ran regardless
    assert same.seeds[0] == 0 and len(same.values) >= 3
    assert same.table.splitlines()[-1].startswith("gru: pass (identical to the stored seed-0 run; decided after")
    lower = check_on_device("gru", "GPU:0", FIXTURES / "baselines",
                            executor=_FakeExecutor(baseline, "GPU:0", change=0.05))
    assert not lower.identical_to_cpu and "test epoch 1 accuracy_mean" in lower.first_difference
    assert lower.verdict == "fail" and not lower.judged_correctly
    json.dumps(lower.to_dict())  # the stored record is plain JSON


def test_accuracy_on_device_refuses_runs_from_another_device():
    from rnn_models.records.baselines import CellBaseline
    from rnn_models.regression.device_accuracy import check_on_device

    baseline = CellBaseline.load(FIXTURES / "baselines", "gru")
    with pytest.raises(RuntimeError, match="runs trained on CPU:0 \\(fake\\), not on GPU:0"):
        check_on_device("gru", "GPU:0", FIXTURES / "baselines", executor=_FakeExecutor(baseline, "CPU:0"))


# --- the command line and the script's CPU path -------------------------------------------------


@pytest.mark.parametrize(("device", "message"), [
    ("GPU:0", "--device GPU:0: TensorFlow sees no GPU on this machine"),
    ("TPU:0", "--device 'TPU:0': expected CPU:N or GPU:N, e.g. GPU:0"),
])
def test_train_names_a_device_it_cannot_use(monkeypatch, capsys, device, message):
    from rnn_models.commands import main
    from rnn_models.machine.environment import visible_gpus

    if visible_gpus():
        pytest.skip("this machine has a GPU")
    monkeypatch.setenv(numerics_pin.DISABLE_VARIABLE, "1")  # no pin put into this process
    assert main(["train", "--cell", "lstm", "--epochs", "1", "--device", device]) == 2
    assert capsys.readouterr().err.strip() == f"rnn_models train: error: {message}"


def test_gpu_report_without_results_names_the_folder(tmp_path, capsys):
    from rnn_models.commands import main

    assert main(["gpu-report", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"rnn_models gpu-report: error: {tmp_path}: no device.json; is this a gpu_check.sh results folder?"


