"""The suite's definitions: matrix configs, numerics cases, the budget, option checks and
the pinning of pytest-xdist workers."""

import os

import pytest

from rnn_models.config import TUTORIAL_CLIP_NORM
from rnn_models.machine.cpu import pin_xdist_worker
from rnn_models.registry import REGISTRY
from rnn_models.suite.matrix import (BASELINE_SEEDS, NUMERICS_CASES, baseline_seeds, check_suite_options, format_budget,
                                     matrix_budget, matrix_cells, matrix_config)
from tests import ROOT


def test_matrix_is_the_tutorials_five_cells_clipped():
    assert matrix_cells() == ["basic_rnn", "basic_lstm", "lstm", "gru", "ln_basic_lstm"]
    for cell in matrix_cells():
        config = matrix_config(cell)
        assert (config.epochs, config.batch_size, config.units, config.learning_rate) == (10, 128, 31, 1e-3)
        assert config.clip_norm == TUTORIAL_CLIP_NORM and config.cell_kwargs == REGISTRY[cell].suite_kwargs
    assert matrix_config("ln_basic_lstm").cell_kwargs == {"epsilon": 1e-3, "norm_gain": 0.85, "norm_shift": 0.15}


def test_numerics_cases_are_the_tutorial_and_each_remedy_alone_and_combined():
    tutorial = NUMERICS_CASES["tutorial"]
    assert tutorial.cell == "ln_basic_lstm" and tutorial.check_numerics
    assert tutorial.cell_kwargs == {} and tutorial.clip_norm is None and tutorial.learning_rate == 1e-3
    assert NUMERICS_CASES["lr_1e-4"].learning_rate == 1e-4
    assert NUMERICS_CASES["clip_5"].clip_norm == TUTORIAL_CLIP_NORM
    assert NUMERICS_CASES["gain_0.85_shift_0.15"].cell_kwargs == {"norm_gain": 0.85, "norm_shift": 0.15}
    assert NUMERICS_CASES["epsilon_1e-3"].cell_kwargs == {"epsilon": 1e-3}
    combined = NUMERICS_CASES["all_remedies"]
    assert (combined.learning_rate, combined.clip_norm) == (1e-4, TUTORIAL_CLIP_NORM)
    assert combined.cell_kwargs == {"norm_gain": 0.85, "norm_shift": 0.15, "epsilon": 1e-3}
    assert not any(NUMERICS_CASES[c].check_numerics for c in NUMERICS_CASES if c != "tutorial")


def test_matrix_budget_sums_wall_and_input_and_takes_the_peak():
    import dataclasses

    from tests.unit.test_baseline import make_result

    one = dataclasses.replace(make_result(), wall_time_s=30.0, input_wait_s=0.3, peak_rss_bytes=8e8)
    two = dataclasses.replace(make_result("gru"), wall_time_s=70.0, input_wait_s=0.7, peak_rss_bytes=9e8)
    budget = matrix_budget([one, two])
    assert budget == {"runs": 2, "cells": 2, "wall_s": 100.0, "input_s": pytest.approx(1.0),
                      "input_share": pytest.approx(0.01), "peak_rss_bytes": 9e8}
    assert "input 1.0 s = 1.0% (limit 5%)" in format_budget(budget)
    assert "100 s summed, 60 s of session on 2 workers" in format_budget(budget, 60.0, 2)
    three = matrix_budget([one, dataclasses.replace(one, config=one.config.replace(seed=1))])
    assert format_budget(three).startswith("matrix of 2 runs of 1 cells")


def test_baselines_are_at_least_ten_seeds_from_zero():
    assert BASELINE_SEEDS == tuple(range(10))
    assert all(baseline_seeds(c)[:10] == BASELINE_SEEDS for c in matrix_cells())
    assert len(baseline_seeds("basic_rnn")) == 100


def test_an_xdist_worker_is_pinned_to_its_share_of_the_cores(monkeypatch):
    cores = [0, 1, 2, 3]  # a 4-core machine (under -n, this worker itself holds one core)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(cores))
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, mine: pinned.append(list(mine)))
    pinned, env = [], {"PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "2"}
    mine = pin_xdist_worker(env)
    share = max(1, len(cores) // 2)
    assert pinned == [mine] and len(mine) == share
    assert mine == cores[share % len(cores):share % len(cores) + share]
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == str(share)
    assert pin_xdist_worker({}) is None and pinned == [mine]  # not a worker: nothing changes


def test_more_xdist_workers_than_cores_keep_every_core_with_one_thread(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, mine: pytest.fail("two workers stacked on a core"))
    env = {"PYTEST_XDIST_WORKER": "gw2", "PYTEST_XDIST_WORKER_COUNT": "3"}
    assert pin_xdist_worker(env) == [0, 1]
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "1"


@pytest.mark.parametrize("options, message", [
    ({"cells": ["foo"]}, r"--cells: Unknown cell\(s\) foo"),
    ({"epochs": 0}, "--epochs: expected a positive integer"),
    ({"update": True, "epochs": 1}, r"--update-baselines records the suite's config \(10 epochs\)"),
    ({"baselines": "/nonexistent/baselines"}, "--baselines /nonexistent/baselines: does not exist"),
])
def test_suite_options_are_checked_before_anything_runs(tmp_path, options, message):
    values = dict(cells=None, epochs=None, update=False, baselines=str(tmp_path), plots=None,
                  speed_summary=None)
    with pytest.raises(ValueError, match=message):
        check_suite_options(**{**values, **options})


def test_suite_options_accept_both_cell_list_forms(tmp_path):
    values = dict(epochs=None, update=False, baselines=str(tmp_path), plots=None, speed_summary=None)
    assert check_suite_options(cells=["lstm,gru"], **values) == ["lstm", "gru"]
    assert check_suite_options(cells=["lstm", "gru"], **values) == ["lstm", "gru"]
    assert check_suite_options(cells=None, **values) is None


def test_costliest_cells_come_first_by_their_stored_median_run_time(tmp_path):
    import json
    import shutil
    import statistics

    from rnn_models.suite.stored_inputs import costliest_first

    stored = ROOT / "baselines"
    for cell in ("basic_rnn", "ln_basic_lstm", "gru"):
        shutil.copy(stored / f"{cell}.json", tmp_path)
    median = {c: statistics.median(s["wall_time_s"] for s in json.loads((tmp_path / f"{c}.json").read_text())["seeds"])
              for c in ("basic_rnn", "ln_basic_lstm", "gru")}
    ordered = costliest_first(["lstm", "basic_rnn", "gru", "ln_basic_lstm", "basic_lstm"], tmp_path)
    assert ordered[:3] == sorted(median, key=median.get, reverse=True)
    assert ordered[3:] == ["lstm", "basic_lstm"]  # no stored baseline: last, in their order
    (tmp_path / "gru.json").write_text("{not json")  # unreadable: last too; its test names it
    assert costliest_first(["gru", "basic_rnn", "ln_basic_lstm"], tmp_path) == ["ln_basic_lstm", "basic_rnn", "gru"]


def test_a_runs_expected_time_is_the_stored_seeds_scaled_by_its_train_steps():
    import json
    import statistics

    from rnn_models.suite.matrix import matrix_config
    from rnn_models.suite.stored_inputs import expected_run_seconds

    stored = json.loads((ROOT / "baselines" / "gru.json").read_text())["seeds"]
    seconds = statistics.median(s["wall_time_s"] for s in stored)
    expected = expected_run_seconds(ROOT / "baselines")
    config = matrix_config("gru")  # 10 epochs of 429 steps (55,000 images in batches of 128)
    assert expected(config.replace(seed=7).to_dict()) == seconds
    assert expected(config.replace(epochs=1, steps_per_epoch=20).to_dict()) == pytest.approx(seconds * 20 / 4290)
    assert expected(config.replace(epochs=2).to_dict()) == pytest.approx(seconds * 2 / 10)
    assert expected(config.replace(learning_rate=1e-4).to_dict()) is None  # other numbers: nothing known
    assert expected({**config.to_dict(), "cell": "no_such_cell"}) is None  # no stored baseline


def test_the_session_reads_reported_data_back_as_objects_and_renders_at_the_summary(tmp_path):
    """A test reports a run and a verdict as dicts (what crosses from an xdist worker); the
    session holds them as a RunResult and an AccuracyOutcome, and renders the verdict's table
    only in its summary: the whole table for a judged cell, one line for an identical one."""
    import dataclasses

    from rnn_models.records.results import RunResult
    from rnn_models.regression.accuracy import DEFAULT_POLICY, AccuracyOutcome, decide
    from rnn_models.suite.session import ACCURACY, RUN, SuiteSession
    from tests.unit.test_baseline import make_result

    run = dataclasses.replace(make_result("gru"), wall_time_s=30.0, input_wait_s=0.3, peak_rss_bytes=8e8)
    look = decide([0.97, 0.971, 0.969], [0.95, 0.951, 0.949], 0.01, DEFAULT_POLICY, (0, 1, 2))
    judged = AccuracyOutcome("gru", "fail", "decided after 3 seeds", (look,), 10, (0.95, 0.951, 0.949),
                             DEFAULT_POLICY)
    same = AccuracyOutcome("lstm", "identical", "seed 0 reproduces it", (), 10, (), DEFAULT_POLICY)
    session = SuiteSession(str(tmp_path))
    session.take("t::gru", True, "call", [(RUN, run.to_dict()), (ACCURACY, judged.to_dict())])
    session.take("t::lstm", False, "call", [(ACCURACY, same.to_dict())])
    session.take("t::lstm", False, "teardown", [(RUN, run.to_dict())])  # repeats the call's: not taken
    assert session.runs == [RunResult.from_dict(run.to_dict())] and isinstance(session.runs[0], RunResult)
    assert session.accuracy == {"gru": judged, "lstm": same} and session.failed == ["t::gru"]
    texts = [text for title, text in session.summary() if title == "rnnbench accuracy gate"]
    assert texts == [judged.table(), "lstm: identical (seed 0 reproduces it)"]
    assert session.summary()[0][1].startswith("matrix of 1 cells: wall 30 s")


class _Executor:
    """A stand-in executor: each run is its (cell, seed), after ``gate`` opens; it fails when
    told to, and honours ``stop`` as the real ones do (BatchStopped within a poll)."""

    def __init__(self, fail=None):
        import threading

        self.batches, self.closed, self.fail = [], 0, fail
        self.gate, self.running = threading.Event(), threading.Event()

    def run(self, configs, on_result=None, stop=None):
        from rnn_models.executors.executor import stop_requested

        self.batches.append([(c.cell, c.seed) for c in configs])
        self.running.set()
        while not self.gate.wait(0.01):
            stop_requested(stop, len(configs))
        if self.fail:
            error, self.fail = self.fail, None
            raise error
        return [(c.cell, c.seed) for c in configs]

    def close(self):
        self.closed += 1


def _matrix(executor, planned=("gru", "lstm")):
    from rnn_models.suite.runs import MatrixRuns

    return MatrixRuns(lambda: executor, epochs=1, planned=planned)


def test_started_seed0_runs_train_in_the_background_and_the_first_request_waits_for_them():
    executor = _Executor()
    runs = _matrix(executor)
    runs.start()
    runs.start()  # once
    assert executor.running.wait(5)
    assert executor.batches == [[("gru", 0), ("lstm", 0)]]  # the batch is under way, nothing waited
    executor.gate.set()
    assert runs.run("lstm") == ("lstm", 0) and runs.run("gru") == ("gru", 0)
    assert runs.runs("gru", [0, 1, 2]) == [("gru", 0), ("gru", 1), ("gru", 2)]
    assert executor.batches[1:] == [[("gru", 1), ("gru", 2)]]  # seed 0 kept, not trained again
    runs.start()  # nothing planned is left to train
    assert len(executor.batches) == 2


def test_the_first_request_that_waits_for_the_batch_does_the_waiting_work_once_and_a_later_one_none():
    executor, done = _Executor(), []
    runs = _matrix(executor)

    def while_waiting():  # the batch still trains when this runs
        done.append(executor.batches == [[("gru", 0), ("lstm", 0)]] and not runs.results)
        executor.gate.set()

    runs.while_waiting = while_waiting
    runs.start()
    assert executor.running.wait(5)
    assert runs.run("gru") == ("gru", 0) and done == [True]
    assert runs.run("lstm") == ("lstm", 0) and done == [True] and runs.while_waiting is None


def test_a_request_after_the_batch_ended_does_not_do_the_waiting_work():
    import time

    executor, done = _Executor(), []
    runs = _matrix(executor)
    runs.while_waiting = lambda: done.append(1)
    runs.start()
    executor.gate.set()
    deadline = time.monotonic() + 5
    while runs._background.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runs.run("gru") == ("gru", 0) and done == []


def test_a_failed_background_batch_fails_the_next_request_once_and_is_trained_again_after():
    from rnn_models.executors import RunFailed

    executor = _Executor(fail=RunFailed("training run gru seed 0 failed: raised ValueError: x"))
    runs = _matrix(executor)
    runs.start()
    executor.gate.set()
    with pytest.raises(RunFailed, match="^training run gru seed 0 failed"):
        runs.run("lstm")
    assert runs.run("lstm") == ("lstm", 0)  # the next request trains the planned runs again
    assert executor.batches == [[("gru", 0), ("lstm", 0)]] * 2


def test_closing_during_a_background_batch_stops_it_and_ends_the_executor():
    import time

    executor = _Executor()
    runs = _matrix(executor)
    runs.start()
    assert executor.running.wait(5)
    started = time.monotonic()
    runs.close()  # the gate never opens: only the stop ends the batch
    assert time.monotonic() - started < 5
    assert executor.closed == 1 and runs.executor is None and not runs.results
    executor.gate.set()
    assert runs.run("gru") == ("gru", 0)  # a later request starts again
