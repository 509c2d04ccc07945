"""The library's tests. ``tests/unit``: no subprocess, no git history, no training beyond a
few steps (``pytest tests/unit``, about a minute). ``tests/integration``: processes, git
histories, real A/Bs and bisects, Ray, the browser. Both: ``pytest tests -n 2``.

``ROOT`` is the checkout these tests sit in, ``FIXTURES`` their stored inputs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
