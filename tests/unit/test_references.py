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


def test_a_new_numerics_key_is_added_and_a_stored_one_is_checked(tmp_path, monkeypatch):
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("a" * 40, False))
    lines, commits = [], []
    written = references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 1e-7, commits),
                                        lines.append)
    assert written == [tmp_path / "gru.json"] and commits == [None]  # this checkout's code recorded them
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned", "aarch64/neon-native"]
    assert lines == [f"gru: added the seed-0 reference for numerics aarch64/neon-native to {tmp_path / 'gru.json'}"]
    lines.clear()
    assert references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 2e-7), lines.append) == []
    assert lines == ["gru: a reference for numerics aarch64/neon-native is stored, and this run does not "
                     "reproduce it (train window 1 loss: "
                     f"{STORED_WINDOW_LOSS + 2e-7!r} against {STORED_WINDOW_LOSS + 1e-7!r} stored under the "
                     "same numerics aarch64/neon-native)"]


def test_a_run_that_reproduces_any_stored_reference_adds_nothing(tmp_path, monkeypatch):
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("a" * 40, False))
    lines = []
    # Another kind's key, the recording kind's bits: nothing is added under the new key.
    assert references.add_references(["gru"], tmp_path, trainer("x86_64/avx2-pinned/other-cpu"), lines.append) == []
    assert lines == ["gru: this run reproduces the stored seed-0 run of numerics test/avx2-pinned bit for bit; "
                     "nothing to add"]
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned"]


def test_changed_code_trains_the_reference_with_the_recording_commit_s_code(tmp_path, monkeypatch):
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("b" * 40, True))
    lines, commits = [], []
    written = references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 1e-7, commits),
                                        lines.append)
    assert commits == ["b" * 40] and written == [tmp_path / "gru.json"]
    assert lines[0] == ("gru: the code differs from bbbbbbbbbbbb, which recorded the seeds; seed 0 is trained "
                        "by that commit's code")
