"""``add-reference``: a machine of other numerics adds its seed-0 run to a baseline once,
trained by the code that recorded the seeds."""

import dataclasses

import pytest

from rnn_models.records import references
from rnn_models.records.baselines import CellBaseline
from tests.unit.test_baseline import make_result


def stored_gru(folder):
    runs = [make_result("gru", test_accuracy=(0.9, 0.95), seed=s) for s in range(3)]
    CellBaseline.from_results(runs).save(folder)
    return runs[0]


STORED_CONFIG = make_result("gru", test_accuracy=(0.9, 0.95), seed=0).config
STORED_WINDOW_LOSS = make_result("gru", test_accuracy=(0.9, 0.95), seed=0).train_curve[0].loss


def trainer(numerics, loss_change=0.0, commits=None):
    def train(commit, configs):  # the stored config's seed 0, by the recording commit's code
        assert [c.cell for c in configs] == ["gru"] and configs[0] == STORED_CONFIG
        if commits is not None:
            commits.append(commit)
        out = []
        for _ in configs:
            run = make_result("gru", test_accuracy=(0.9, 0.95), seed=0)
            window = dataclasses.replace(run.train_curve[0], loss=run.train_curve[0].loss + loss_change)
            out.append(dataclasses.replace(run, fingerprint={"numerics": numerics},
                                           train_curve=(window,) + run.train_curve[1:]))
        return out
    return train


@pytest.mark.parametrize("changed", [False, True], ids=["recording-code", "changed-code"])
def test_a_new_numerics_key_is_added_and_a_stored_one_is_checked(tmp_path, monkeypatch, changed):
    """Trained by this checkout when its code is the recording commit's, else by that commit's."""
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("b" * 40, changed))
    lines, commits = [], []
    written = references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 1e-7, commits),
                                        lines.append)
    assert written == [tmp_path / "gru.json"] and commits == ["b" * 40 if changed else None]
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned", "aarch64/neon-native"]
    assert lines == [*(["gru: the code differs from bbbbbbbbbbbb, which recorded the seeds; the runs are "
                        "trained by that commit's code"] if changed else []),
                     f"gru: added the seed-0 reference for numerics aarch64/neon-native to {tmp_path / 'gru.json'}"]
    lines.clear()
    assert references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 2e-7), lines.append) == []
    assert lines[-1] == ("gru: a reference for numerics aarch64/neon-native is stored, and this run does not "
                         "reproduce it (train window 1 loss: "
                         f"{STORED_WINDOW_LOSS + 2e-7!r} against {STORED_WINDOW_LOSS + 1e-7!r} stored under the "
                         "same numerics aarch64/neon-native)")


def test_a_run_that_reproduces_any_stored_reference_adds_nothing(tmp_path, monkeypatch):
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("a" * 40, False))
    lines = []
    # Another kind's key, the recording kind's bits: nothing is added under the new key.
    assert references.add_references(["gru"], tmp_path, trainer("x86_64/avx2-pinned/other-cpu"), lines.append) == []
    assert lines == ["gru: this run reproduces the stored seed-0 run of numerics test/avx2-pinned bit for bit; "
                     "nothing to add"]
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned"]


def test_the_missing_seeds_are_trained_by_the_recording_commit_s_code_and_added(tmp_path, monkeypatch):
    from rnn_models.suite import matrix

    stored_gru(tmp_path)  # seeds 0-2
    monkeypatch.setattr(references, "recorded_at", lambda path: ("c" * 40, True))
    monkeypatch.setattr(matrix, "baseline_seeds", lambda cell: tuple(range(5)))
    asked, lines = [], []

    def train(commit, configs):
        asked.append((commit, [c.seed for c in configs]))
        return [make_result("gru", test_accuracy=(0.9, 0.95), seed=c.seed) for c in configs]

    assert references.add_seeds(["gru"], tmp_path, train, lines.append) == [tmp_path / "gru.json"]
    assert asked == [("c" * 40, [3, 4])]
    assert [r.seed for r in CellBaseline.load(tmp_path, "gru").seeds] == [0, 1, 2, 3, 4]
    assert lines[-1] == f"gru: added seeds 3-4 (2 runs) to {tmp_path / 'gru.json'}"
    lines.clear()
    assert references.add_seeds(["gru"], tmp_path, train, lines.append) == []  # nothing missing now
    assert lines == ["gru: all 5 seeds the registry asks for are stored; nothing to add"]


def test_train_at_splits_each_cell_s_seeds_over_processes_and_labels_the_runs(tmp_path, monkeypatch):
    import contextlib

    from rnn_models.bisect import runs as bisect_runs
    from rnn_models.machine import numerics_pin
    from rnn_models.executors.executor import run_limit_s
    from rnn_models.machine.cpu import usable_cores
    from rnn_models.speed import worktree

    checked_out, jobs = [], []
    EXPECTED = {"gru": 10.0, "lstm": 20.0}  # each cell's stored seeds' median wall time

    @contextlib.contextmanager
    def checkout(repo, commit):
        checked_out.append(commit)
        yield tmp_path

    def train_seeds(root, config, seeds, out, data=None, threads=None, timeout_s=None):
        jobs.append((root, config.cell, config.seed, list(seeds)))
        assert threads == max(1, usable_cores() // 2)
        # the pool's rule for a stuck run, for this process's seeds: its start plus 10x their time
        expected = EXPECTED[config.cell]
        assert timeout_s == run_limit_s(expected, len(seeds)) == 120 + 10 * expected * len(seeds)
        return [dataclasses.replace(make_result(config.cell, seed=s), fingerprint={"numerics": "old-form"})
                for s in seeds]

    monkeypatch.setattr(worktree, "checkout", checkout)
    monkeypatch.setattr(bisect_runs, "train_seeds", train_seeds)
    monkeypatch.setattr(numerics_pin, "cpu_identity", lambda: "vendor-1-2-l1d32k")
    configs = [make_result(cell, seed=s).config for cell, s in (("gru", 3), ("gru", 4), ("gru", 5), ("lstm", 0))]
    out = references.train_at("d" * 40, configs, processes=2, expected_s=lambda config: EXPECTED[config["cell"]])
    assert checked_out == ["d" * 40]
    assert sorted(jobs) == [(tmp_path, "gru", 0, [3, 5]), (tmp_path, "gru", 0, [4]), (tmp_path, "lstm", 0, [0])]
    assert [(r.cell, r.config.seed) for r in out] == [("gru", 3), ("gru", 4), ("gru", 5), ("lstm", 0)]
    assert {r.fingerprint["numerics"].split("/")[2] for r in out} == {"vendor-1-2-l1d32k"}  # this machine's key
