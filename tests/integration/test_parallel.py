"""The training pool, the local executor: runs trained in its pinned worker processes equal
the same runs trained alone, however many runs each worker takes before it is replaced; every
failure ends in a RunFailed naming the run, never in a wait without end. (The address that
picks the executor: tests/unit/test_parallel.py; the Ray executor: test_ray.py.)"""

import multiprocessing
import os
import time

import pytest

from rnn_models.config import TrainConfig
from rnn_models.executors import BatchStopped, RunFailed, TrainingPool
from tests.integration import pool_tasks

REAL_MNIST = os.environ.get("RNN_MODELS_MNIST")
needs_mnist = pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
LIMIT = 2  # runs per worker in these tests; each test pushes twice as many through a slot


def small_configs(cell, seeds=(0, 1, 2)):
    """A few steps of ``cell`` per seed: enough to tell runs apart, in seconds."""
    return [TrainConfig(cell=cell, units=8, epochs=1, steps_per_epoch=6, test_steps=3,
                        log_every=3, seed=seed) for seed in seeds]


def curves(run):
    return ([w.loss for w in run.train_curve], [e.accuracy_mean for e in run.test_curve],
            [e.loss for e in run.test_curve], run.max_grad_norm)


@pytest.fixture(scope="module")
def alone():
    """Each of four gru runs trained alone: a fresh pinned process for each run."""
    configs = small_configs("gru", range(2 * LIMIT))
    with TrainingPool(2, runs_per_process=1) as pool:
        return configs, pool.run(configs)


@needs_mnist
@pytest.mark.xdist_group("pool_alone")  # under -n, the runs trained alone once
def test_twice_the_worker_limit_through_one_slot_one_run_then_a_batch(alone):
    """One slot, as an xdist worker's executor is: first asked for one run (given as a dict),
    then for the other three in one batch, so its worker reaches its limit inside the batch and
    is replaced there."""
    configs, expected = alone
    with TrainingPool(1, runs_per_process=LIMIT) as pool:
        pooled = pool.run([configs[0].to_dict()]) + pool.run(configs[1:])
    assert [r.config for r in pooled] == configs
    assert [curves(r) for r in pooled] == [curves(r) for r in expected]
    assert curves(pooled[0]) != curves(pooled[1])  # the seeds differ


@needs_mnist
@pytest.mark.xdist_group("pool_alone")  # under -n, the runs trained alone once
def test_twice_the_worker_limit_through_two_slots(alone):
    configs, expected = alone
    with TrainingPool(2, runs_per_process=LIMIT) as pool:  # two runs at once, each worker's second run after its first
        pooled = pool.run(configs)
    assert [curves(r) for r in pooled] == [curves(r) for r in expected]


def test_workers_are_replaced_at_their_limit_and_runs_keep_their_order():
    with TrainingPool(2, runs_per_process=LIMIT, task=pool_tasks.echo) as pool:
        out = pool.run([{"cell": "x", "seed": s} for s in range(6 * LIMIT)])
        again = pool.run([{"cell": "x", "seed": 99}])  # the pool serves a second batch
    assert [o["seed"] for o in out] == list(range(6 * LIMIT))
    assert len({o["pid"] for o in out}) >= 6  # 12 runs, at most 2 per worker
    assert again[0]["seed"] == 99
    assert not multiprocessing.active_children()


@pytest.mark.parametrize(("task", "why"), [
    (pool_tasks.raise_on_seed_1, r"raised ValueError: a bad config"),
    (pool_tasks.die_on_seed_1, r"its worker process \d+ died \(killed by signal 9\)"),
    (pool_tasks.freeze_on_seed_1, r"its worker process \d+ stopped answering for \d+ s"),
])
def test_a_failed_run_is_named_and_stops_the_batch(task, why):
    pool = TrainingPool(2, task=task, heartbeat_s=0.2, silence_limit_s=3)
    started = time.monotonic()
    with pytest.raises(RunFailed, match=rf"^training run gru seed 1 failed: {why}; the batch's "
                                        r"other \d run\(s\) were stopped"):
        pool.run([{"cell": "gru", "seed": s} for s in range(4)])
    assert time.monotonic() - started < 60
    assert not multiprocessing.active_children()  # no worker left behind
    pool.close()


def test_each_finished_run_is_handed_over_before_the_batch_stops():
    heard = []
    with TrainingPool(1, task=pool_tasks.raise_on_seed_1) as pool:
        with pytest.raises(RunFailed):
            pool.run([{"cell": "gru", "seed": s} for s in (0, 1, 2)],
                     on_result=lambda position, result: heard.append((position, result["seed"])))
        assert heard == [(0, 0)]  # seed 0 finished first: kept; seed 2 never ran
        heard.clear()
        out = pool.run([{"cell": "gru", "seed": s} for s in (3, 4)], on_result=lambda p, r: heard.append(p))
    assert sorted(heard) == [0, 1] and [o["seed"] for o in out] == [3, 4]


def test_a_batch_in_another_thread_ends_when_its_stop_is_set_and_leaves_no_worker():
    """How the suite ends its background seed-0 batch (``suite.runs.MatrixRuns.close``)."""
    import threading

    stop, outcome, heard = threading.Event(), [], []
    pool = TrainingPool(2, task=pool_tasks.loop_on_seed_1, heartbeat_s=0.2)

    def batch():
        try:
            pool.run([{"cell": "gru", "seed": s} for s in (0, 1)], stop=stop,
                     on_result=lambda position, result: heard.append(position))
        except BatchStopped as err:
            outcome.append(str(err))

    thread = threading.Thread(target=batch)
    thread.start()
    time.sleep(2)  # seed 0 done, seed 1 looping
    started = time.monotonic()
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert outcome == ["the batch was stopped with 1 run(s) unfinished"] and heard == [0]
    assert not multiprocessing.active_children()
    pool.close()


def test_a_run_far_over_its_expected_time_fails(monkeypatch):
    from rnn_models.executors import executor

    monkeypatch.setattr(executor, "START_ALLOWANCE_S", 0.0)
    pool = TrainingPool(1, task=pool_tasks.loop_on_seed_1, heartbeat_s=0.2, expected_s=lambda c: 0.2)
    with pytest.raises(RunFailed, match=r"^training run gru seed 1 failed: it ran \d+ s, over 10 "
                                        r"times its expected 0 s; the batch's other 1 run"):
        pool.run([{"cell": "gru", "seed": s} for s in (0, 1, 2)])
    assert not multiprocessing.active_children()


def test_workers_run_under_the_numerics_pin_and_without_it():
    from rnn_models.machine import numerics_pin

    with TrainingPool(1, task=pool_tasks.environment) as pool:
        pinned = pool.run([{"cell": "x", "seed": 0}])[0]
    with TrainingPool(1, task=pool_tasks.environment, pin=False) as pool:
        free = pool.run([{"cell": "x", "seed": 0}])[0]
    assert numerics_pin.is_applied(pinned)
    assert not numerics_pin.is_applied(free) or numerics_pin.is_applied(os.environ)


