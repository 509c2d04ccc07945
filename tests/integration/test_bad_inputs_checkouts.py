"""Bad inputs and stops where checkouts meet the suite and the bisect (docs/bad_inputs.md):
a ``--baselines`` folder anywhere, on a machine whose stored speed run differs; a shallow
clone whose A/B baseline commit cannot be had; and a bisect stopped by a real SIGINT or
SIGTERM in each of its phases. (tests/test_bad_inputs.py holds the other cases.)

The bisect's phases are reached by seams, not by timing: a git ``post-checkout`` hook holds
``git worktree add`` for a few seconds, and ``$RNN_MODELS_PAUSE_AT`` makes a worker pause in
a time request, or the command before it prints its table (``rnn_models.machine.interrupts``).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from rnn_models.machine.interrupts import PAUSE_ENV
from rnn_models.records.speed_runs import newest_run
from rnn_models.selfcheck import synthetic_history as synthetic
from tests import ROOT
from tests.integration.test_bad_inputs import alive, descendants, start, wait_for

CTRL_C = pytest.param(signal.SIGINT, 130, "Ctrl-C", id="ctrl-c")
SIGTERM = pytest.param(signal.SIGTERM, 143, "SIGTERM", id="sigterm")
# Both signals take one path (rnn_models.machine.interrupts), checked for both in the cheap phase; the
# two phases that train or time (about 20 s each) are held for one signal each, to keep CI's
# cost in bounds (the other is one parameter away).
STOPS = [CTRL_C, SIGTERM]


git = synthetic.git_output  # the library's committer: one git helper, not one per test file


def pytest_in(cwd, *args, env=None, timeout=300):
    """``python -m pytest`` in ``cwd`` with ``cwd``'s code first on the import path."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    done = subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider", "-q"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


# --- --baselines anywhere ------------------------------------------------------------


def forged_copy(tmp_path):
    """A copy of baselines/ outside the checkout whose newest speed run was recorded on
    another machine (its machine_info differs from this one's)."""
    copy = tmp_path / "elsewhere" / "baselines"
    shutil.copytree(ROOT / "baselines", copy)
    run = newest_run(copy / "benchmarks")
    data = json.loads(run.path.read_text())
    data["machine_info"]["node"] = "another-machine"
    run.path.write_text(json.dumps(data))
    return copy


def given_as(how, copy, tmp_path):
    if how == "relative":
        return os.path.relpath(copy, ROOT)
    if how == "symlink":
        (tmp_path / "link").symlink_to(copy, target_is_directory=True)
        return str(tmp_path / "link")
    return str(copy)


# The compared run is loaded at configure, whatever is collected: the cheapest module will do.
CHEAP = "benchmarks/test_budget.py"


@pytest.mark.parametrize("how", ["relative", "symlink"])
def test_a_compare_against_baselines_outside_the_checkout_warns_of_the_other_machine(how, tmp_path):
    copy = forged_copy(tmp_path)
    code, output = pytest_in(ROOT, CHEAP, "--benchmark-compare", "--benchmark-verbose",
                             "--baselines", given_as(how, copy, tmp_path), "--collect-only")
    assert code == 0 and "INTERNALERROR" not in output and "Traceback" not in output, output
    # pytest-benchmark's machine-info warning, which crashed here, names the folder
    assert f"(location: {(copy / 'benchmarks').resolve()})" in output, output


def test_an_update_and_plots_in_baselines_outside_the_checkout(tmp_path):
    copy = forged_copy(tmp_path)
    plots = tmp_path / "plots"
    code, output = pytest_in(ROOT, CHEAP, "--update-baselines", "--benchmark-compare", "--benchmark-verbose",
                             "--baselines", str(copy), "--plots", str(plots),
                             "-k", "no_test_has_this_name")
    assert code == pytest.ExitCode.NO_TESTS_COLLECTED and "INTERNALERROR" not in output, output
    assert f"(location: {(copy / 'benchmarks').resolve()})" in output, output
    assert "baselines not updated" in output, output  # no test passed: nothing written
    assert sorted(p.name for p in plots.iterdir()) and all(p.suffix == ".png" for p in plots.iterdir()), output


# --- the A/B's baseline commit in a shallow clone -------------------------------------


@pytest.fixture(scope="module")
def recorded_history(tmp_path_factory):
    """This checkout's files as a history of three commits, its newest stored speed run
    recorded at the first; returns (repo, the first commit)."""
    repo = tmp_path_factory.mktemp("recorded") / "repo"
    shas = synthetic.build(ROOT, repo, {}, commits=1)
    run = newest_run(repo / "baselines" / "benchmarks")
    data = json.loads(run.path.read_text())
    data["commit_info"]["id"] = shas[0]
    run.path.write_text(json.dumps(data))
    git(repo, "commit", "-qam", "the stored speed run names the first commit")
    return repo, shas[0]


def shallow_clone(repo, dest, remote=True):
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(dest)], check=True)
    if not remote:
        git(dest, "remote", "remove", "origin")
    return dest


@pytest.fixture
def no_tensorflow(tmp_path):
    """An import path on which ``import tensorflow`` fails: the check must come first."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('the test forbids TensorFlow here')\n")
    return fake.parent


def test_a_shallow_clone_without_the_baseline_commit_stops_before_timing(recorded_history, tmp_path,
                                                                         no_tensorflow):
    repo, first = recorded_history
    clone = shallow_clone(repo, tmp_path / "clone", remote=False)
    env = {"PYTHONPATH": f"{clone}{os.pathsep}{no_tensorflow}"}
    code, output = pytest_in(clone, "benchmarks", "-m", "speed", "--benchmark-compare", env=env, timeout=120)
    assert code == pytest.ExitCode.USAGE_ERROR, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    for needle in (first[:12], "not in this shallow clone", "no remote 'origin'", "fetch-depth: 0",
                   "git fetch --unshallow", "--no-ab"):
        assert needle in errors[0], errors[0]
    # the third way out: --no-ab gates on the stored run's rules, and collects
    code, output = pytest_in(clone, CHEAP, "--benchmark-compare", "--no-ab", "--collect-only")
    assert code == 0, output


def test_a_shallow_clone_fetches_the_baseline_commit_from_origin(recorded_history, tmp_path):
    repo, first = recorded_history
    clone = shallow_clone(repo, tmp_path / "clone")
    code, output = pytest_in(clone, CHEAP, "--benchmark-compare", "--collect-only")
    assert code == 0, output
    assert git(clone, "cat-file", "-t", first) == "commit"


# --- a bisect stopped in each phase ---------------------------------------------------

HOOK = """#!/bin/sh
# the test's seam: hold `git worktree add` (it runs this hook) while the test signals
[ -n "$RNNBENCH_TEST_CHECKOUT_MARK" ] || exit 0
echo $$ > "$RNNBENCH_TEST_CHECKOUT_MARK"
sleep 3
"""


@pytest.fixture(scope="module")
def bisect_history(tmp_path_factory):
    """Three commits of this checkout's files (no change between them), with the seam's hook."""
    repo = tmp_path_factory.mktemp("bisect") / "repo"
    shas = synthetic.build(ROOT, repo, {}, commits=2)
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(HOOK)
    hook.chmod(0o755)
    return repo, shas


def user_state(repo):
    """The user's checkout: status, HEAD, branch, index bytes, and the worktree list."""
    index = (repo / ".git" / "index").read_bytes()
    return (git(repo, "status", "--porcelain"), git(repo, "rev-parse", "HEAD"), git(repo, "symbolic-ref", "HEAD"),
            index, git(repo, "worktree", "list", "--porcelain").count("worktree "))


def start_bisect(bisect_history, tmp_path, bad, extra, env):
    """``bisect`` over ``bisect_history`` from its first commit to commit ``bad``, in a process
    with its own TMPDIR: ``(repo, that TMPDIR, the user's checkout before, the process)``."""
    repo, shas = bisect_history
    temp = tmp_path / "tmp"
    temp.mkdir()
    before = user_state(repo)
    process = start(["-m", "rnn_models", "bisect", "--repo", repo, "--good", shas[0], "--bad", shas[bad], *extra],
                    env={"TMPDIR": str(temp), "PYTHONPATH": str(ROOT), **env})
    return repo, temp, before, process


def stop_and_check(process, signum, code, name, repo, temp, before):
    """Sends ``signum``; then the bisect must end with its one line and ``code``, leaving no
    process, worktree, temporary file or change to the user's checkout."""
    children = descendants(process.pid)
    process.send_signal(signum)
    try:
        out, err = process.communicate(timeout=180)
    finally:
        process.kill()
    assert process.returncode == code, (out, err)
    assert "Traceback" not in out + err, err
    stops = [line for line in err.splitlines() if line.startswith("rnn_models bisect: interrupted")]
    assert stops == [f"rnn_models bisect: interrupted ({name})"] and err.strip().endswith(stops[0]), err
    time.sleep(0.5)
    assert alive(children + descendants(process.pid)) == [], children
    assert user_state(repo) == before
    assert git(repo, "worktree", "list").count("\n") == 0  # the user's own only
    assert [p.name for p in temp.iterdir()] == []
    return children


@pytest.mark.parametrize("signum, code, name", STOPS)
def test_a_bisect_stopped_while_a_worktree_is_made_leaves_nothing(bisect_history, tmp_path, signum, code, name):
    mark = tmp_path / "hook.pid"
    repo, temp, before, process = start_bisect(bisect_history, tmp_path, -1,
                                               ["--cells", "lstm", "--metric", "numerics", "--steps", "2"],
                                               {"RNNBENCH_TEST_CHECKOUT_MARK": str(mark)})
    wait_for(mark.exists, "git worktree add running its post-checkout hook", process, timeout=300)
    hook = int(mark.read_text())
    assert hook in descendants(process.pid)  # git and its hook are the bisect's, mid-add
    stop_and_check(process, signum, code, name, repo, temp, before)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, name", [SIGTERM])
def test_a_bisect_stopped_while_workers_time_leaves_nothing(bisect_history, tmp_path, signum, code, name):
    repo, temp, before, process = start_bisect(bisect_history, tmp_path, 1,
                                               ["--cells", "basic_rnn", "--worker-pairs", "1", "--rounds", "1",
                                                "--baselines", ROOT / "baselines"], {PAUSE_ENV: "timing"})

    def timing():
        logs = temp.glob("rnnbench-bisect-*/logs/*/worker-*.log")
        return any("paused at timing" in log.read_text() for log in logs)

    wait_for(timing, "a worker in a time request", process, timeout=300)
    children = stop_and_check(process, signum, code, name, repo, temp, before)
    assert len(children) >= 2  # both sides' workers were running, and are gone


@pytest.mark.slow
@pytest.mark.parametrize("signum, code, name", [CTRL_C])
def test_a_bisect_stopped_while_its_table_prints_leaves_nothing(bisect_history, tmp_path, signum, code, name):
    repo, temp, before, process = start_bisect(bisect_history, tmp_path, 1,
                                               ["--cells", "lstm", "--metric", "numerics", "--steps", "2"],
                                               {PAUSE_ENV: "table"})
    line = process.stderr.readline()
    while line and "paused at table" not in line:
        line = process.stderr.readline()
    assert "paused at table" in line, process.communicate()
    stop_and_check(process, signum, code, name, repo, temp, before)
