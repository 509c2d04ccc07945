"""``add-reference``'s recording commit, read from this checkout's git history (the rest:
tests/unit/test_references.py)."""

import re

import pytest

from rnn_models.records import references
from tests import ROOT


def test_the_recording_commit_is_read_from_git():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    commit, changed = references.recorded_at(ROOT / "baselines" / "gru.json")
    assert re.fullmatch(r"[0-9a-f]{40}", commit) and isinstance(changed, bool)
