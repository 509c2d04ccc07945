"""``bisect-check``: how often and how fast the speed bisect names a known, real slowdown.

1. **Tune** the slowdown: a ``Dense(width)`` layer before the model's logits
   (``synthetic.wider_head``), a real code change whose cost grows with the width from a
   fixed part of a few ops. (Changes inside the cell run at each of the 28 time steps, so
   their fixed part alone is too coarse for +15%: docs/decisions.md.) Each try is one
   A/B of that commit against its parent, all the calibrated looks' units taken; the width of
   the next try comes from a line fitted through the tries so far, until the measured ratio is
   within ``tolerance`` of ``1 + slowdown``. The closest try is used, and recorded.
2. **Build** a synthetic history of ``commits`` commits after a copy of this checkout, the
   slowdown at ``position``, notes-file commits elsewhere.
3. **Bisect** it ``repeats`` times, each run the user's command in a fresh process
   (``python -m rnn_models bisect``), timed, its answer checked against the known commit.

Every run is written to the result file as it ends (atomically), with the tuning, the
history and the machine's fingerprint, so a stopped experiment keeps what it measured.
"""

import datetime
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rnn_models import git
from rnn_models.bisect.settings import DEFAULT_PAIRS
from rnn_models.machine.environment import fingerprint
from rnn_models.records.atomic import write_json_atomic
from rnn_models.records.calibrations import load_calibration
from rnn_models.regression.speed import decide
from rnn_models.selfcheck import synthetic_history as synthetic
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABSession, ABUnavailable, real_batch

ROOT = git.SOURCE_ROOT
CELL, PHASE, DEVICE = "basic_lstm", "train", "CPU:0"  # the calibration's injected step
FIRST_WIDTH = 1000  # an estimate of +15% there, from the step's FLOPs (docs/decisions.md)
MAX_WIDTH = 100000
FIRST_BAD = re.compile(r"^first bad commit: ([0-9a-f]{40}) ")


def head_ab(width, work, thresholds, batch, pairs):
    """The A/B (an ABResult) of a commit with a ``Dense(width)`` head against its parent, every
    look's units taken, by ``pairs`` worker pairs as the bisect's are."""
    repo = Path(work) / f"tune-{width}"
    shas = synthetic.build(ROOT, repo, {1: synthetic.wider_head(width)}, commits=1)
    try:
        with worktree.checkout(repo, shas[0]) as parent:
            session = ABSession(repo, parent, batch, thresholds, log_dir=tempfile.mkdtemp(dir=work),
                                pairs=pairs)
            try:
                return session.compare(CELL, PHASE, DEVICE, 1, exhaust=True)
            finally:
                session.close()
    except ABUnavailable as err:
        raise RuntimeError(f"the A/B of head width {width}: {err}") from None
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def measure_slowdown(width, work, thresholds, batch, pairs):
    """The decision on every unit of ``head_ab``: the ratio at its finest."""
    return decide(head_ab(width, work, thresholds, batch, pairs).log_ratios, thresholds, 1)


def next_width(tries, target):
    """The width expected to give ``1 + target``: a line through the tries' (width, ratio), or
    proportional scaling from a single try; never one already tried."""
    widths = [w for w, _ in tries]
    ratios = [d.ratio for _, d in tries]
    if len(set(widths)) == 1:
        guess = widths[-1] * target / max(ratios[-1] - 1.0, 1e-3)
    else:
        slope, intercept = np.polyfit(widths, ratios, 1)
        guess = (1.0 + target - intercept) / slope if slope > 0 else widths[-1] * 2
    guess = int(min(MAX_WIDTH, max(1, round(guess))))
    while guess in widths:
        guess += 1
    return guess


def tune(measure, target, tolerance, tries, log=print):
    """``(width, decision, every try)``: the try whose ratio is nearest ``1 + target``."""
    done, width = [], FIRST_WIDTH
    for _ in range(tries):
        decision = measure(width)
        done.append((width, decision))
        log(f"tune: head width {width} -> ratio {decision.interval_text()}")
        if abs(decision.ratio - 1.0 - target) <= tolerance:
            break
        width = next_width(done, target)
    best = min(done, key=lambda t: abs(t[1].ratio - 1.0 - target))
    return best[0], best[1], done


def run_bisect(repo, shas, baselines, pairs, data=None):
    """One bisect as the user runs it, in a fresh process: its exit code, output and time."""
    argv = [sys.executable, "-m", "rnn_models", "bisect", "--repo", str(repo), "--good", shas[0],
            "--bad", shas[-1], "--cells", CELL, "--phase", PHASE, "--baselines", str(baselines),
            "--worker-pairs", str(pairs)]
    if data:
        argv += ["--data", str(data)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    start = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr, time.monotonic() - start


def _decision_dict(decision):
    return {"ratio": decision.ratio, "low": decision.low, "high": decision.high,
            "verdict": decision.verdict, "units": decision.units}


def _summary(runs, slow_sha):
    walls = [r["wall_s"] for r in runs]
    return {"runs": len(runs), "named_right": sum(r["named"] == slow_sha for r in runs),
            "named_wrong": sum(r["named"] not in (None, slow_sha) for r in runs),
            "exit_codes": dict(Counter(str(r["exit_code"]) for r in runs)),
            "wall_s": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)} if walls else None}


def experiment(out, *, repeats, commits, position, slowdown, tolerance, tune_tries, baselines,
               pairs=DEFAULT_PAIRS, aa=False, data=None, command="", log=print):
    """Tunes, builds and bisects as the module says; returns the result dict, also in ``out``.
    ``aa``: no slowdown anywhere (no tuning), so a run is right when it names no commit."""
    thresholds, _ = load_calibration(baselines)
    batch = real_batch(data)
    result = {"date": datetime.date.today().isoformat(), "command": command, "machine": fingerprint(),
              "settings": {"repeats": repeats, "commits": commits, "position": position,
                           "slowdown": slowdown, "tolerance": tolerance, "cell": CELL, "phase": PHASE,
                           "worker_pairs": pairs, "aa": aa,
                           "thresholds": {"min_effect": thresholds.min_effect, "looks": list(thresholds.looks),
                                          "block_s": thresholds.block_s}}}
    with tempfile.TemporaryDirectory(prefix="rnnbench-bisect-check-") as work:
        repo = Path(work) / "history"
        if aa:
            result["tuning"] = None
            shas = synthetic.build(ROOT, repo, {}, commits=commits)
            slow = None
            log(f"history: {commits} commits, no slowdown")
        else:
            width, decision, tries = tune(lambda w: measure_slowdown(w, work, thresholds, batch, pairs),
                                          slowdown, tolerance, tune_tries, log)
            result["tuning"] = {"head_width": width, "measured": _decision_dict(decision),
                                "tries": [{"head_width": w, **_decision_dict(d)} for w, d in tries]}
            shas = synthetic.build(ROOT, repo, {position: synthetic.wider_head(width)}, commits=commits)
            slow = shas[position]
            log(f"history: {commits} commits, the slowdown (head width {width}, measured "
                f"{decision.interval_text()}) at {position}: {slow[:12]}")
        result["history"] = {"commits": shas, "slow_commit": slow, "position": None if aa else position}
        result["runs"] = []
        for k in range(repeats):
            code, stdout, stderr, wall = run_bisect(repo, shas, baselines, pairs, data)
            lines = stdout.splitlines()
            named = next((m.group(1) for m in map(FIRST_BAD.match, lines[-1:]) if m), None)
            result["runs"].append({"exit_code": code, "wall_s": wall, "named": named,
                                   "right": named == slow,
                                   "steps": [line for line in lines if line.startswith("[")],
                                   "last_line": lines[-1] if lines else "",
                                   "error": stderr.strip().splitlines()[-1] if code not in (0, 1) and stderr.strip() else None})
            result["summary"] = _summary(result["runs"], slow)
            write_json_atomic(out, result)
            log(f"run {k + 1}/{repeats}: exit {code}, {wall:.0f} s, "
                f"{'right' if named == slow else 'named ' + (named or 'nothing')[:12]}")
    return result
