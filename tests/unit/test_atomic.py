"""Atomic writes and the multi-file transaction (kill -9 at random moments:
tests/integration/test_atomic.py)."""

import json
import os

import pytest

from rnn_models.records.atomic import JOURNAL, Transaction, clean_stale, recover, write_json_atomic

FILES = ("a.json", "b.json", "sub/c.json", "d.json", "e.json")


def test_an_atomic_write_keeps_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "r.json", {"x": 1})
        assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_json_atomic(tmp_path / "s.json", {"x": 1})
        assert (tmp_path / "s.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_json_write_refuses_nan_and_keeps_the_old_file(tmp_path):
    write_json_atomic(tmp_path / "r.json", {"x": 1})
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "r.json", {"x": float("nan")})
    assert json.loads((tmp_path / "r.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_a_transaction_writes_nothing_before_its_commit(tmp_path):
    (tmp_path / "a.json").write_text('"old"')
    transaction = Transaction(tmp_path)
    for name in FILES:
        transaction.stage(name, "new")
    assert (tmp_path / "a.json").read_text() == '"old"' and not (tmp_path / "b.json").exists()
    transaction.commit()
    assert all(json.loads((tmp_path / n).read_text()) == "new" for n in FILES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "d.json", "e.json", "sub"]


def test_a_discarded_transaction_leaves_the_folder_as_it_was(tmp_path):
    (tmp_path / "a.json").write_text('"old"')
    transaction = Transaction(tmp_path)
    transaction.stage("a.json", "new")
    transaction.discard()
    assert (tmp_path / "a.json").read_text() == '"old"'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_recover_completes_a_commit_cut_short_after_its_journal(tmp_path, monkeypatch):
    transaction = Transaction(tmp_path)
    for name in FILES:
        transaction.stage(name, "new")
    moves = []
    real_replace = os.replace

    def crash_after_two(source, target):
        if str(target).endswith(".json") and JOURNAL not in str(target) and len(moves) == 2:
            raise KeyboardInterrupt  # the process dies half-way through its moves
        if JOURNAL not in str(target):
            moves.append(target)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        transaction.commit()
    monkeypatch.setattr(os, "replace", real_replace)
    assert (tmp_path / JOURNAL).exists() and sum((tmp_path / n).exists() for n in FILES) == 2
    recover(tmp_path)
    assert all(json.loads((tmp_path / n).read_text()) == "new" for n in FILES)
    assert not (tmp_path / JOURNAL).exists() and not list(tmp_path.glob(".rnnbench-staging-*"))


def test_clean_stale_removes_what_dead_processes_left(tmp_path):
    dead = 999_999_999
    (tmp_path / f".r.json.pid{dead}.abc.tmp").write_text("half")
    (tmp_path / f".r.json.pid{os.getpid()}.abc.tmp").write_text("being written")
    (tmp_path / f".rnnbench-staging-{dead}").mkdir()
    (tmp_path / "r.json").write_text("{}")
    clean_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".r.json.pid{os.getpid()}.abc.tmp", "r.json"]


def _file_storage(tmp_path):
    import logging

    from pytest_benchmark.storage.file import FileStorage

    return FileStorage(tmp_path / "benchmarks", logger=logging.getLogger("test"), default_machine_id="m")


def test_the_speed_runs_save_is_atomic(tmp_path, monkeypatch):
    from rnn_models.records.speed_runs import AtomicStorage, read_run

    storage = AtomicStorage(_file_storage(tmp_path))
    run = {"machine_info": {}, "commit_info": {}, "benchmarks": [{"name": "t", "stats": {"median": 1.0}}]}
    storage.save(run, "baseline")
    assert read_run(tmp_path / "benchmarks" / "m" / "0001_baseline.json").number == 1

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        storage.save(run, "baseline")
    monkeypatch.undo()
    assert sorted(p.name for p in (tmp_path / "benchmarks" / "m").iterdir()) == ["0001_baseline.json"]


def test_under_an_update_the_speed_run_is_staged_with_the_rest(tmp_path):
    from rnn_models.records.speed_runs import AtomicStorage

    transaction = Transaction(tmp_path)
    storage = AtomicStorage(_file_storage(tmp_path), transaction)
    storage.save({"benchmarks": []}, "baseline")
    assert not (tmp_path / "benchmarks" / "m" / "0001_baseline.json").exists()
    transaction.commit()
    assert (tmp_path / "benchmarks" / "m" / "0001_baseline.json").is_file()
