"""``add-reference``'s and ``add-seeds``' recording commit, read from this checkout's git
history, and read from a small history: the newest commit that changed the seed-0 record (the
rest: tests/unit/test_references.py)."""

import json
import re

import pytest

from rnn_models.records import references
from tests import ROOT


def test_the_recording_commit_is_read_from_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    commit, changed = references.recorded_at(ROOT / "baselines" / "gru.json")
    assert re.fullmatch(r"[0-9a-f]{40}", commit) and isinstance(changed, bool)


def test_the_recording_commit_is_the_last_to_change_seed_0_not_the_last_to_write(tmp_path, monkeypatch):
    from rnn_models import git
    from rnn_models.selfcheck.synthetic_history import git_output

    repo = tmp_path / "repo"
    git_output(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "rnn_models").mkdir()
    (repo / "rnn_models" / "code.py").write_text("x = 1\n")
    path = repo / "baselines" / "gru.json"
    path.parent.mkdir()
    shas = []
    for seeds, refs in (([0, 1], {}), ([0, 1], {"k": 1}), ([0, 1, 2], {"k": 1})):  # record, add a reference, add a seed
        path.write_text(json.dumps({"seeds": [{"seed": s, "loss": 1.0} for s in seeds], "other_references": refs}))
        git_output(repo, "add", "-A")
        git_output(repo, "commit", "-q", "-m", f"{len(seeds)} seeds, {len(refs)} references")
        shas.append(git_output(repo, "rev-parse", "HEAD"))
    monkeypatch.setattr(git, "SOURCE_ROOT", repo)
    assert references.recorded_at(path) == (shas[0], False)
    (repo / "rnn_models" / "code.py").write_text("x = 2\n")
    assert references.recorded_at(path) == (shas[0], True)
    path.write_text(json.dumps({"seeds": [{"seed": 0, "loss": 2.0}], "other_references": {}}))  # recorded again
    git_output(repo, "commit", "-qam", "recorded again")
    assert references.recorded_at(path)[0] == git_output(repo, "rev-parse", "HEAD")


def test_a_training_process_past_its_bound_is_stopped_and_named(tmp_path):
    """``train_seeds``, which add-reference and add-seeds run at the recording commit: a process
    that never ends (here a stand-in CLI that sleeps) is killed at its bound, one line."""
    import time

    from rnn_models.bisect.runs import train_seeds
    from rnn_models.executors import RunFailed
    from tests.unit.test_baseline import make_result

    root = tmp_path / "checkout"
    (root / "rnn_models").mkdir(parents=True)
    (root / "rnn_models" / "__init__.py").write_text("")
    (root / "rnn_models" / "__main__.py").write_text("import time\ntime.sleep(60)\n")
    started = time.monotonic()
    with pytest.raises(RunFailed, match=r"^train of gru seeds 3-4 ran past its 1 s bound and was stopped$"):
        train_seeds(root, make_result("gru").config, [3, 4], tmp_path / "out", timeout_s=1)
    assert time.monotonic() - started < 30
