"""The same-run A/B without a process: the sides' libraries, the stored-run reader, the
calibrations, the confirmation in fresh workers and the worker pairs' turns, on stand-in
workers (``ABSession(start_worker=...)``). Real workers, git and a real A/B:
tests/integration/test_speed_ab.py."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rnn_models.machine.environment import fingerprint
from rnn_models.records.calibrations import (SCHEMA_VERSION, calibration_path, load_calibrations,
                                             machine_kind, thresholds_for)
from rnn_models.records.speed_runs import machine_id, newest_run, read_run, StoredRunError
from rnn_models.regression.speed import Thresholds
from rnn_models.speed.ab import BUILD_PLACEMENT, PLACEMENT, ABSession, ABUnavailable, check_versions
from rnn_models.speed.gate import check_speed_inputs
from tests import FIXTURES, ROOT


FIXTURE_RUN = FIXTURES / "benchmarks" / "Linux-CPython-3.11-64bit" / "0001_speed.json"


def batch(n=32):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(n, 28, 28)).astype(np.float32), rng.integers(0, 10, n).astype(np.int32)


def write_calibration(folder, looks=(8, 16), block_s=0.02, kind=None):
    data = {"schema_version": SCHEMA_VERSION, "date": "test",
            "thresholds": {"min_effect": 0.03, "process_sigma": 0.005, "family_alpha": 0.01,
                           "looks": list(looks), "block_s": block_s},
            "measured": {"aa": {"runs": 0, "runs_with_false_alarm": 0}, "injected": []}}
    path = calibration_path(folder, kind or machine_kind(fingerprint()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_the_sides_must_load_the_same_libraries():
    hello = {"current": {"versions": {"tensorflow": "2.21", "numpy": "2.4"}},
             "baseline": {"versions": {"tensorflow": "2.20", "numpy": "2.4"}}}
    with pytest.raises(ABUnavailable, match="tensorflow 2.20 \\(baseline\\) vs 2.21 \\(current\\)"):
        check_versions(hello)


def test_an_empty_or_corrupt_newest_run_is_skipped_and_named(tmp_path):
    folder = tmp_path / machine_id()
    folder.mkdir()
    shutil.copy(FIXTURE_RUN, folder / "0002_baseline.json")
    (folder / "0003_baseline.json").write_bytes(b"")  # a save killed half-way
    notes = []
    run = newest_run(tmp_path, warn=notes.append)
    assert run.number == 2
    assert notes[0].startswith(f"skipping stored speed run {folder / '0003_baseline.json'}: ")
    assert "empty file" in notes[0] and notes[1] == f"comparing with {folder / '0002_baseline.json'} instead"
    (folder / "0004_x.json").write_text('{"benchmarks": [{"name": "x"}]}')
    with pytest.raises(StoredRunError, match="0004_x.json: not a pytest-benchmark speed run"):
        read_run(folder / "0004_x.json")


def test_an_uncalibrated_kind_takes_the_widest_stored_thresholds(tmp_path):
    write_calibration(tmp_path, kind="kind-a")
    wide = write_calibration(tmp_path, kind="kind-b")
    data = json.loads(wide.read_text())
    data["thresholds"].update(min_effect=0.09, process_sigma=0.02, looks=[16, 32], pairs=3)
    wide.write_text(json.dumps(data))
    calibrations = load_calibrations(tmp_path)
    assert calibrations["kind-a"][0].pairs == 1  # a calibration that names no pairs was made with one
    assert calibrations["kind-a"][0].estimator == "hodges_lehmann"  # nor an estimator: before the median's
    thresholds, kind, how = thresholds_for(calibrations, {"cpu": "Other CPU", "usable_cores": 4})
    assert kind is None and how.startswith("this machine kind other-cpu-4-cores is not calibrated")
    assert (thresholds.min_effect, thresholds.process_sigma, thresholds.looks, thresholds.pairs) == (
        0.09, 0.02, (16, 32), 3)
    mine = {"cpu": "AMD EPYC (family/model/stepping 23/49/0)", "usable_cores": 2}
    write_calibration(tmp_path, kind=machine_kind(mine))
    thresholds, kind, how = thresholds_for(load_calibrations(tmp_path), mine)
    assert kind == "amd-epyc-family-23-model-49-2-cores" and thresholds.min_effect == 0.03
    assert how.startswith("calibrated on this machine kind amd-epyc-family-23-model-49-2-cores")
    assert how.endswith("measured with the workers free to use every core, before the A/B pinned each pair to one)")
    pinned = calibration_path(tmp_path, kind)
    pinned.write_text(json.dumps({**json.loads(pinned.read_text()), "placement": PLACEMENT}))
    how = thresholds_for(load_calibrations(tmp_path), mine)[2]
    assert "free to use every core" not in how and how.endswith("before the workers built on the cores in turn)")
    pinned.write_text(json.dumps({**json.loads(pinned.read_text()), "build_placement": BUILD_PLACEMENT}))
    assert "measured with" not in thresholds_for(load_calibrations(tmp_path), mine)[2]


@pytest.mark.parametrize("text", ["", '{"schema_version": 1, "thresholds": {"min_effect": 0.03', '{"schema_version": 9}'])
def test_a_corrupt_calibration_is_bad_input_naming_the_file(tmp_path, text):
    path = write_calibration(tmp_path)
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path} is not a valid A/B gate calibration .*git checkout -- "
                                         f".*gate-check"):
        check_speed_inputs(tmp_path)


class FakeSession:
    """An ABSession stand-in whose compare() returns the next of ``verdicts`` (``leaning``: an
    inconclusive 1.03, past half the 4% minimum effect)."""

    RATIOS = {"slower": 1.2, "leaning": 1.03}

    def __init__(self, verdicts, log):
        self.verdicts, self.log = verdicts, log

    thresholds = Thresholds(0.04, 0.0, 0.5, (2,), 0.1)  # 6 units can reach its per-look level

    def compare(self, cell, phase, device, family_size, slowdown=0.0, exhaust=False):
        from rnn_models.regression.speed import Decision
        from rnn_models.speed.ab import ABResult

        name = self.verdicts.pop(0)
        self.log.append(("compare", name))
        if name == "worker died":
            from rnn_models.speed.ab import ABUnavailable

            raise ABUnavailable("the current worker exited")
        ratio = self.RATIOS.get(name, 1.0)
        verdict = "inconclusive" if name == "leaning" else name
        units = (math.log(ratio) + 0.01, math.log(ratio) - 0.01, math.log(ratio))
        return ABResult(cell, phase, device, Decision(verdict, ratio, ratio - 0.05, ratio + 0.05, 3),
                        units, 10, 1.0, 1.0, {})

    def close(self):
        self.log.append(("close",))


@pytest.mark.parametrize("verdicts, final, restarts", [
    (["unchanged"], "unchanged", 0),
    (["inconclusive"], "inconclusive", 0),  # no lean: not retimed
    (["slower", "slower"], "slower", 1),
    (["leaning", "slower"], "slower", 1),  # a noisy slowdown gains the fresh workers' units
    (["slower", "unchanged", "unchanged"], "inconclusive", 2),  # a lean, weighed down; at the cap
])
def test_an_unclear_step_fails_only_when_found_slower_on_every_session_s_units_together(verdicts, final, restarts):
    from rnn_models.regression.speed import final_verdict
    from rnn_models.speed.gate import compare_retimed

    log = []
    session = FakeSession(list(verdicts), log)
    first, pooled, after = compare_retimed(session, lambda: (log.append(("restart",)), session)[1],
                                           "lstm", "train", "CPU:0", 16)
    assert final_verdict(first.decision, pooled and pooled.decision) == final
    assert log.count(("restart",)) == restarts and (pooled is not None) == (restarts > 0)
    assert after is session and not session.verdicts
    if pooled is not None:  # decided on the first A/B's 3 units and each fresh session's 3
        assert pooled.log_ratios[:3] == first.log_ratios and pooled.decision.units == 3 + 3 * restarts
        assert [list(s) for s in pooled.sessions] == [list(pooled.log_ratios[3 + 3 * k:6 + 3 * k])
                                                      for k in range(restarts)]


def test_a_retime_whose_workers_fail_stops_them_before_the_error_goes_on():
    from rnn_models.speed.ab import ABUnavailable
    from rnn_models.speed.gate import compare_retimed

    log = []
    session = FakeSession(["slower", "worker died"], log)
    with pytest.raises(ABUnavailable):
        compare_retimed(session, lambda: (log.append(("restart",)), session)[1], "lstm", "train", "CPU:0", 16)
    assert log == [("compare", "slower"), ("close",), ("restart",), ("compare", "worker died"), ("close",)]


class FakeWorker:
    """A worker stand-in (``ABSession(start_worker=...)``) on ``root`` whose every step takes
    ``step_s`` (``build_s`` while all four build); it logs the time requests it gets, and keeps
    every request in ``sent`` and the op of every reply taken in ``received``."""

    def __init__(self, root, step_s, log, build_s=None, name=None):
        self.root, self.step_s, self.log, self.build_s = Path(root), step_s, log, build_s or step_s
        self.name, self.sent, self.received = name, [], []

    def send(self, request):
        self.pending = request
        self.sent.append(request)

    def receive(self, op, timeout):
        self.received.append(op)
        if op == "pin":
            return {"ok": True, "core": self.pending["slot"] % 2}
        if op == "hello":
            return {"ok": True, "rnn_models": str(self.root / "rnn_models"), "versions": {}}
        return {"ok": True, "step_s": self.build_s, "kernel_path": "fake"} if op == "build" else {"ok": True}

    def request(self, request, timeout):
        self.log.append(self)
        self.sent.append(request)
        return {"ok": True, "times": [self.step_s] * request["steps"]}

    def ask_to_exit(self):
        self.log.append("asked to exit")

    def close(self):
        self.log.append("closed")


def test_each_unit_is_timed_by_the_next_worker_pair_in_turn(tmp_path):
    """Pair 2's current side is 20% slower, pair 1's is not: units alternate 1.0, 1.2, ..."""
    from rnn_models.regression.speed import Thresholds

    log = []
    # Each worker's step timed while all four built took 5x its own time.
    steps = {"current-1": (0.010, 0.05), "baseline-1": (0.010, 0.05),
             "current-2": (0.012, 0.06), "baseline-2": (0.010, 0.05)}

    def start_worker(name, root, log_dir, log_name):
        step_s, build_s = steps[log_name]
        return FakeWorker(root, step_s, log, build_s)

    thresholds = Thresholds(min_effect=0.071, process_sigma=0.0, family_alpha=0.05, looks=(8,), block_s=0.1)
    session = ABSession(ROOT, ROOT, batch(), thresholds, log_dir=tmp_path, pairs=2, start_worker=start_worker)
    ab = session.compare("basic_lstm", "train", "CPU:0", 1)
    assert ab.worker_pairs == 2 and len(ab.log_ratios) == 8
    assert ab.unit_steps == 10  # 0.1 s of the first pair's own steps, not 2 of the contended ones
    assert [round(math.exp(r), 3) for r in ab.log_ratios] == [1.0, 1.2] * 4
    assert {id(w) for w in log} == {id(w) for pair in session.pairs for w in pair.values()}  # all four timed
    del log[:]
    session.close()  # each worker told to exit before any is waited for: they end side by side
    assert log == ["asked to exit"] * 4 + ["closed"] * 4 and session.pairs == []
    with pytest.raises(ValueError, match="at least 1 pair of workers, got 0"):
        ABSession(ROOT, ROOT, batch(), None, pairs=0)


def test_the_two_workers_of_each_pair_share_one_core_taken_in_turn_while_timed(tmp_path):
    """Pinned after hello (TensorFlow imported, no pool sized yet) and before any build: while
    they build and drop, the workers take the cores one by one (start order), each core building
    as many steps; while timed, each pair's two share the pair's core."""
    from rnn_models.regression.speed import Thresholds

    thresholds = Thresholds(min_effect=0.071, process_sigma=0.0, family_alpha=0.05, looks=(6,), block_s=0.1)
    session = ABSession(ROOT, ROOT, batch(), thresholds, log_dir=tmp_path, pairs=3,
                        start_worker=lambda name, root, log_dir, log_name: FakeWorker(root, 0.01, [], name=log_name))
    assert session.cores is None  # not timed yet
    session.compare("basic_lstm", "train", "CPU:0", 1)
    session.compare("gru", "inference", "CPU:0", 1)
    for k, workers in enumerate(session.pairs):
        for i, worker in enumerate(workers.values()):
            ops = [op for n, op in enumerate(r["op"] for r in worker.sent)
                   if op != "time" or worker.sent[n - 1]["op"] != "time"]  # a run of time requests as one
            assert ops == ["hello", "pin"] + ["build", "pin", "time", "pin", "drop"] * 2
            assert [r["slot"] for r in worker.sent if r["op"] == "pin"] == [2 * k + i] + [k, 2 * k + i] * 2
    assert session.cores == [{"current": 0, "baseline": 0}, {"current": 1, "baseline": 1},
                             {"current": 0, "baseline": 0}]
    session.close()


def test_a_build_sent_ahead_is_the_one_compare_times_and_one_never_compared_is_dropped(tmp_path):
    """``start_build`` returns before the workers answer (this process builds its own copy
    meanwhile); ``compare`` of that step takes it without building again; a step sent ahead
    and never compared is taken and dropped before the next build is sent."""
    from rnn_models.regression.speed import Thresholds

    thresholds = Thresholds(min_effect=0.071, process_sigma=0.0, family_alpha=0.05, looks=(2,), block_s=0.1)
    session = ABSession(ROOT, ROOT, batch(), thresholds, log_dir=tmp_path, pairs=1,
                        start_worker=lambda name, root, log_dir, log_name: FakeWorker(root, 0.01, [], name=log_name))
    worker = session.pairs[0]["current"]
    session.start_build("gru", "train", "CPU:0")
    assert worker.sent[-1]["op"] == "build" and worker.received[-1] == "pin"  # sent, not waited for
    session.wait_built()
    assert worker.received[-1] == "build"
    session.compare("gru", "train", "CPU:0", 1)
    session.start_build("lstm", "train", "CPU:0")  # its test failed before the gate compared it
    session.compare("gru", "inference", "CPU:0", 1)
    builds = [(r["cell"], r["phase"], r["key"]) for r in worker.sent if r["op"] == "build"]
    assert [b[:2] for b in builds] == [("gru", "train"), ("lstm", "train"), ("gru", "inference")]
    assert [r["key"] for r in worker.sent if r["op"] == "drop"] == [key for _, _, key in builds]
    assert worker.received.count("build") == 3 and worker.received.count("drop") == 3
    session.close()


def test_the_sides_are_set_up_alike_and_take_turns_at_starting_and_opening(tmp_path):
    """Only the code may differ between the sides: the same length of path to each checkout,
    and in every pair each side opens half its units; the pairs alternate which side starts."""
    from rnn_models.regression.speed import Thresholds

    log, started = [], []
    baseline_root = tmp_path / "a-baseline-checkout-with-a-longer-path"
    shutil.copytree(ROOT / "rnn_models", baseline_root / "rnn_models", ignore=shutil.ignore_patterns("__pycache__"))

    def start_worker(name, root, log_dir, log_name):
        started.append(log_name)
        return FakeWorker(root, 0.01, log, name=log_name)

    thresholds = Thresholds(min_effect=0.071, process_sigma=0.0, family_alpha=0.05, looks=(12,), block_s=0.1)
    session = ABSession(ROOT, baseline_root, batch(), thresholds, log_dir=tmp_path, pairs=3,
                        start_worker=start_worker)
    roots = {name: w.root for name, w in session.pairs[0].items()}
    assert len(str(roots["current"])) == len(str(roots["baseline"]))
    assert (roots["current"].resolve(), roots["baseline"].resolve()) == (ROOT.resolve(), baseline_root.resolve())
    assert list((baseline_root / "rnn_models" / "__pycache__").glob("__init__.*.pyc"))  # compiled before the start
    assert started == ["current-1", "baseline-1", "baseline-2", "current-2", "current-3", "baseline-3"]
    del log[:]
    ab = session.compare("basic_lstm", "train", "CPU:0", 1)
    timed = log[2:]  # after the first pair's uncontended steps, which set the unit's length
    units = [timed[k:k + 2 * ab.unit_steps] for k in range(0, len(timed), 2 * ab.unit_steps)]
    assert len(units) == 12 and all(len({w.name for w in unit}) == 2 for unit in units)
    for pair in ("1", "2", "3"):
        openers = [unit[0].name.split("-")[0] for unit in units if unit[0].name.endswith(pair)]
        assert openers in (["current", "baseline"] * 2, ["baseline", "current"] * 2), openers
    session.close()


def test_the_stored_placement_measurements_give_their_summaries_and_the_pinning_its_gain():
    """``baselines/ab_placement.json`` (tools/measure_placement.py): each placement's summary is
    what its stored units give, and the A/B's placement (``pinned``) spreads the pairs at most a
    fifth as much as free workers did, the gain docs/decisions.md states."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("measure_placement", ROOT / "tools" / "measure_placement.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    placements = json.loads((ROOT / "baselines" / "ab_placement.json").read_text())["placements"]
    for name, entry in placements.items():
        again = tool.spreads(entry["sessions"])
        for key in ("unit_sd", "pair_mean_sd", "pairs"):
            assert again[key] == pytest.approx(entry["summary"][key], rel=1e-9), (name, key)
    assert placements["pinned"]["summary"]["pair_mean_sd"] < placements["free"]["summary"]["pair_mean_sd"] / 5
