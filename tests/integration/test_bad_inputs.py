"""Bad inputs and stops that only a real process shows (docs/bad_inputs.md): the suite's
usage errors at configure time (``pytest benchmarks``: exit 4, one ``ERROR:`` line, no stored
file touched), a real Ctrl-C or SIGTERM sent to ``train``, ``accuracy-check`` and the suite
once they train (exit 130 or 143, one line, the partial result kept, no worker left), and
where an update writes, one update at a time. The in-process cases:
tests/unit/test_bad_inputs.py; checkouts and the bisect: test_bad_inputs_checkouts.py.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnn_models.records.results import RunResult
from tests import ROOT
from tests.unit.test_bad_inputs import snapshot

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


# --- signals: a real Ctrl-C or SIGTERM to a real child process -----------------------


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


def python_descendants(pid):
    """The Python processes below ``pid`` (training workers; not a short-lived ``git``, which
    the suite may start before its stop handler is in place)."""
    found = []
    for child in descendants(pid):
        try:
            if b"python" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue  # it ended while we looked
    return found


def alive(pids):
    return [p for p in pids if Path(f"/proc/{p}").exists()
            and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def start(argv, env=None):
    """``python argv...`` from the checkout, unbuffered, its output piped; ``env`` added."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition, what, process, timeout=180):
    """Polls ``condition`` until it holds; the test fails, naming ``what``, if ``process``
    ends first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"never saw {what}: {process.communicate()}")
        time.sleep(0.1)


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
    wait_for(lambda: python_descendants(process.pid), "the training workers", process)
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
    wait_for(lambda: python_descendants(process.pid), "the training workers", process)
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
    for files in (before, after):  # the lock's (empty) file stays; git ignores it (and a checkout may hold one)
        files.pop(".rnnbench-update.lock", None)
    assert after == before


SWALLOWING_PROBE = """
import os
import signal

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    # As a library that catches KeyboardInterrupt would: the first test's SIGTERM is lost.
    if not getattr(pytest_runtest_call, "sent", False):
        pytest_runtest_call.sent = True
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # its handler runs as this call returns
        except KeyboardInterrupt:
            pass
    yield
"""


@pytest.mark.slow
def test_a_sigterm_whose_interrupt_was_caught_still_stops_the_suite_after_that_test(tmp_path):
    """In CI once, the suite went on after a SIGTERM (its first test failed, the rest ran):
    something caught the KeyboardInterrupt. The stop is kept, and ends the session after the
    test it came in."""
    (tmp_path / "rnnbench_swallow.py").write_text(SWALLOWING_PROBE)
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    process = start(["-m", "pytest", "benchmarks", "-m", "not speed", "-k", "first_step_over_seeds",
                     "-p", "no:cacheprovider", "-p", "rnnbench_swallow", "-v"], env=env)
    try:
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out + err
    assert "rnnbench: stopped by SIGTERM" in out, out
    assert out.count("PASSED") + out.count("FAILED") == 1, out  # the test it came in, no other


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
