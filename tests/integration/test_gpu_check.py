"""tools/gpu_check.sh's CPU path, run as the script it is: every GPU part skipped in one
line, the folder written (the rest of the GPU path: tests/unit/test_gpu_check.py). The real
measurement needs a GPU: docs/gpu.md."""

import json
import os
import subprocess
import sys

import pytest

from rnn_models.machine import numerics_pin
from tests import ROOT


def test_the_script_skips_every_gpu_part_in_one_line_without_a_gpu(tmp_path):
    """tools/gpu_check.sh on a machine without a GPU (quick mode): 7 skip lines, the record
    and page written as not measured, exit 0. About 15 s (one TensorFlow start)."""
    if numerics_pin.gpu_present():
        pytest.skip("this machine has a GPU: the script would measure it")
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_INSTALL": "0", "GPU_CHECK_QUICK": "1",
           "GPU_CHECK_DEVICE": "GPU:0"}
    env.pop("OUT", None)
    done = subprocess.run(["bash", str(ROOT / "tools" / "gpu_check.sh"), str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    skips = [line for line in done.stdout.splitlines() if line.startswith("gpu_check: skipped ")]
    assert len(skips) == 7, done.stdout
    assert all(line.endswith(": TensorFlow sees no GPU on this machine") for line in skips), skips
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["device.json", "gpu.md", "gpu_check.log"]
    page = (tmp_path / "out" / "gpu.md").read_text()
    assert "Goal (every cell at least 10x faster than the tutorial): not judged" in page
    assert json.loads((tmp_path / "out" / "device.json").read_text())["name"] is None
    assert (ROOT / "docs" / "gpu.md").read_text().count("not yet measured on a GPU") >= 5  # untouched
