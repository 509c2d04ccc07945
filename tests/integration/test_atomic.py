"""Atomic writes under kill -9: a writer process killed at random moments leaves the
old files or the new, never a mix (the rest: tests/unit/test_atomic.py)."""

import json
import signal
import subprocess
import sys
import time

from rnn_models.records.atomic import recover
from tests.unit.test_atomic import FILES


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
