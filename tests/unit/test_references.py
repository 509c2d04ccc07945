"""``add-reference``: a machine of other numerics adds its seed-0 run to a baseline once, only
from the code that recorded it."""

import dataclasses

import pytest

from rnn_models.records import references
from rnn_models.records.baselines import CellBaseline
from rnn_models.suite.matrix import matrix_config
from tests.unit.test_baseline import make_result


def stored_gru(folder):
    runs = [make_result("gru", test_accuracy=(0.9, 0.95), seed=s) for s in range(3)]
    CellBaseline.from_results(runs).save(folder)
    return runs[0]


def trainer(numerics, loss_change=0.0):
    def train(configs):  # the stored runs' small config stands in for the suite's
        assert [c.cell for c in configs] == ["gru"] and configs[0] == matrix_config("gru")
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
    lines = []
    written = references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native", 1e-7), lines.append)
    assert written == [tmp_path / "gru.json"]
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned", "aarch64/neon-native"]
    assert lines == [f"gru: added the seed-0 reference for numerics aarch64/neon-native to {tmp_path / 'gru.json'}"]
    lines.clear()
    assert references.add_references(["gru"], tmp_path, trainer("test/avx2-pinned"), lines.append) == []
    assert lines == ["gru: a reference for numerics test/avx2-pinned is stored; this run reproduces it bit for bit"]


def test_no_reference_is_added_from_changed_code(tmp_path, monkeypatch):
    stored_gru(tmp_path)
    monkeypatch.setattr(references, "recorded_at", lambda path: ("b" * 40, True))
    with pytest.raises(ValueError, match=r"^gru: the code differs from bbbbbbbbbbbb, which recorded .*gru.json; "
                                         r"add references from a clean checkout of that commit"):
        references.add_references(["gru"], tmp_path, trainer("aarch64/neon-native"))
    assert list(CellBaseline.load(tmp_path, "gru").references()) == ["test/avx2-pinned"]


