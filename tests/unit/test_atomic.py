"""Atomic writes and the multi-file transaction, including kill -9 at random moments."""

import json
import os
import signal
import subprocess
import sys
import time

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


WRITER = """
import sys, time
from rnn_models.records.atomic import Transaction
folder, version = sys.argv[1], sys.argv[2]
t = Transaction(folder)
for name in {files!r}:
    t.stage(name, {{"version": version, "pad": "x" * 400000}})
t.commit()
"""


def _versions(folder):
    return {json.loads((folder / n).read_text())["version"] if (folder / n).exists() else None for n in FILES}


def test_kill_9_at_any_moment_leaves_the_old_files_or_the_new(tmp_path):
    """Each round starts a writer of version k and kills it after a random delay; after the
    next reader's recover(), every file is of one version, never a mix, never truncated."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(files=FILES))
    folder = tmp_path / "baselines"
    subprocess.run([sys.executable, str(script), str(folder), "0"], check=True)
    delays = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0, 2.0, 3.0]
    current, outcomes = "0", []
    for k, delay in enumerate(delays, start=1):
        writer = subprocess.Popen([sys.executable, str(script), str(folder), str(k)])
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        recover(folder)
        versions = _versions(folder)
        assert len(versions) == 1 and versions <= {current, str(k)}, (delay, versions)
        current = versions.pop()
        outcomes.append(current == str(k))
        assert not list(folder.rglob(".*.tmp")) and not list(folder.glob(".rnnbench-staging-*"))
    assert not all(outcomes) and any(outcomes)  # some kills came before the commit, some after


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
