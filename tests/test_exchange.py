"""The run exchange's protocol, with a fake trainer: who trains what, waiting, helping until
everyone is done, claims of dead processes, and failures. (Real training through it:
tests/test_parallel.py.)"""

import json
import subprocess
import sys
import threading

import pytest

from rnn_models.config import TrainConfig
from rnn_models.parallel import RunExchange, TrainingFailed, job_key
from rnn_models.parallel.exchange import PREFIX, remove_stale
from tests.test_baseline import make_result

TIMEOUT_S = 30  # a hung exchange fails the test instead of hanging the suite


def configs(*seeds, cell="gru"):
    return [TrainConfig(cell=cell, epochs=1, steps_per_epoch=20, test_steps=4, log_every=10, seed=s)
            for s in seeds]


def fake_train(log, name, wait_for=None):
    """A trainer that records (name, seed); with ``wait_for``, it first waits for that event
    (so that a test can make sure another process takes part)."""
    def train(config_dict):
        if wait_for is not None:
            assert wait_for.wait(TIMEOUT_S), "the other process never claimed a job"
        log.append((name, config_dict["seed"]))
        config = TrainConfig.from_dict(config_dict)
        return make_result(config.cell, seed=config.seed)
    return train


def in_thread(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def folder(tmp_path):
    return RunExchange.create(tmp_path)


def test_alone_a_process_trains_its_runs_in_order_and_gets_them_back_in_order(folder):
    log = []
    exchange = RunExchange(folder, "gw0").join()
    results = exchange.run(configs(3, 1, 2), fake_train(log, "gw0"))
    assert [r.config.seed for r in results] == [3, 1, 2]
    assert log == [("gw0", 3), ("gw0", 1), ("gw0", 2)]
    assert exchange.helped == 0
    assert sorted(p.name for p in (folder / "results").iterdir()) == sorted(
        f"{job_key(c)}.json" for c in configs(1, 2, 3))
    # Asked again, the runs come from the results, not from training.
    assert [r.config.seed for r in exchange.run(configs(2), fake_train(log, "gw0"))] == [2]
    assert len(log) == 3


def test_a_helper_trains_posted_runs_of_every_look_and_returns_once_everyone_is_done(folder):
    log, claimed = [], {1: threading.Event(), 2: threading.Event()}  # the helper holds a run of look k
    poster, helper = RunExchange(folder, "gw0").join(), RunExchange(folder, "gw1").join()

    def helper_train(config_dict):
        claimed[1 if config_dict["seed"] <= 4 else 2].set()
        return fake_train(log, "gw1")(config_dict)

    helping = in_thread(helper.help, helper_train)  # gw1's tests are over, nothing is posted yet
    look_1 = poster.run(configs(1, 2, 3, 4), fake_train(log, "gw0", wait_for=claimed[1]))
    assert helping.is_alive()  # gw0 may still post runs: gw1 waits
    look_2 = poster.run(configs(5, 6), fake_train(log, "gw0", wait_for=claimed[2]))
    assert [r.config.seed for r in look_1 + look_2] == [1, 2, 3, 4, 5, 6]
    assert sorted(seed for _, seed in log) == [1, 2, 3, 4, 5, 6]  # each run trained once
    assert {name for name, seed in log if seed > 4} == {"gw0", "gw1"}
    poster.help(fake_train(log, "gw0"))  # gw0's tests are over
    helping.join(TIMEOUT_S)
    assert not helping.is_alive()
    assert helper.helped == sum(1 for name, _ in log if name == "gw1")


def dead_pid():
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_a_dead_claim_is_requeued_for_the_process_that_posted_it(folder):
    log = []
    poster = RunExchange(folder, "gw0").join()
    config = configs(8)[0]
    # gw1 had claimed gw0's job and died: gw0 must not wait for it forever.
    name = f"00000000000000000001_{job_key(config)}"
    (folder / "claimed" / f"{name}.{dead_pid()}.json").write_text(json.dumps(config.to_dict()))
    poster.help(fake_train(log, "gw0"))  # it takes the job back and trains it before it returns
    assert log == [("gw0", 8)]
    assert not list((folder / "claimed").iterdir()) and not list((folder / "jobs").iterdir())
    assert (folder / "results" / f"{job_key(config)}.json").is_file()


def test_a_run_that_raises_where_it_was_trained_fails_the_poster_naming_it(folder):
    poster, helper = RunExchange(folder, "gw0").join(), RunExchange(folder, "gw1").join()
    claimed = threading.Event()

    def broken(config_dict):
        claimed.set()
        raise ValueError("out of memory in the cell")

    helping = in_thread(helper.help, broken)
    with pytest.raises(TrainingFailed, match=r"run gru_seed(9|10)_\w+ failed where it was trained: "
                                             r"ValueError: out of memory in the cell"):
        poster.run(configs(9, 10), fake_train([], "gw0", wait_for=claimed))
    poster.help(fake_train([], "gw0"))
    helping.join(TIMEOUT_S)
    assert not helping.is_alive()


def test_a_helper_stops_when_the_other_members_are_gone(folder):
    (folder / "members" / "gw1").write_text(dead_pid())  # a worker that crashed before its end
    helping = in_thread(RunExchange(folder, "gw0").join().help, fake_train([], "gw0"))
    helping.join(TIMEOUT_S)
    assert not helping.is_alive()


def test_job_keys_name_the_run_and_differ_with_any_field():
    a, b = configs(0)[0], configs(0)[0].replace(learning_rate=2e-3)
    assert job_key(a).startswith("gru_seed0_") and job_key(a) == job_key(configs(0)[0])
    assert job_key(a) != job_key(b)


def test_folders_of_killed_sessions_are_removed_and_live_ones_kept(tmp_path):
    live, dead = tmp_path / f"{PREFIX}live", tmp_path / f"{PREFIX}dead"
    for folder in (live, dead):
        folder.mkdir()
        RunExchange.create(folder)
    (dead / "owner").write_text(dead_pid())
    unowned = tmp_path / f"{PREFIX}new"  # being made: its owner file is not there yet
    unowned.mkdir()
    other = tmp_path / "something-else"
    other.mkdir()
    assert remove_stale(tmp_path) == [dead]
    assert live.is_dir() and unowned.is_dir() and other.is_dir() and not dead.exists()
