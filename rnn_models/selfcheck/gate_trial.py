"""``gate-trial``: the whole speed gate run as CI runs it, on this machine, with the thresholds
it would get here (and the fresh-worker retimes of an unclear step), to
measure its false alarms and power where no calibration was made, or beside a second job
where one was (``gate-check`` makes a kind's calibration).

Each run starts fresh workers for both sides over the same code (A/A) and judges every gated
step exactly as the suite does (``rnn_models.speed.gate.compare_retimed``); an injected run
stretches one step of the current side. ``--load`` runs a second job beside the gate, a
single-threaded NumPy matmul loop, as a CI machine's neighbour would. Results go to
``baselines/speed_gate_trials.json`` (one entry per machine kind and experiment, kept beside
the others), with the thresholds that judged them and the inconclusive verdicts counted.
"""

import contextlib
import datetime
import itertools
import json
import os
import subprocess
import sys
import time

from rnn_models import git
from rnn_models.machine.environment import fingerprint
from rnn_models.records.atomic import write_json_atomic
from rnn_models.records.calibrations import load_calibrations, machine_kind, thresholds_for
from rnn_models.regression.speed import final_verdict
from rnn_models.selfcheck.gate_check import gated_steps, replay_step
from rnn_models.speed import worktree
from rnn_models.speed.ab import BUILD_PLACEMENT, PLACEMENT, ABSession
from rnn_models.speed.gate import compare_retimed

_LOAD = ("import numpy as np\na = np.random.default_rng(0).random((512, 512))\n"
         "while True:\n    a = (a @ a) / 512.0\n")


@contextlib.contextmanager
def second_job(on):
    """A busy single-threaded process beside the gate while ``on``."""
    if not on:
        yield
        return
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, "-c", _LOAD], env={**os.environ, **env})
    try:
        yield
    finally:
        job.kill()
        job.wait()


def one_run(root, baseline_root, batch, thresholds, steps, family, slowdown=0.0, log=print):
    """One whole-gate run in fresh workers: ``{step: {verdict, first, ratio, low, high, second,
    units, retimes_units}}``; ``units`` are the first A/B's samples (log ratios, in the order the
    pairs took them), ``second`` the pooled decision's verdict and ``retimes_units`` each fresh
    session's own, kept so that other rules can be replayed on them."""
    def restart():
        return ABSession(root, baseline_root, batch, thresholds)

    session = restart()
    out = {}
    try:
        for cell, phase, device in steps:
            first, pooled, session = compare_retimed(session, restart, cell, phase, device, family,
                                                     slowdown=slowdown)
            d = (pooled or first).decision
            step = out[f"{cell} {phase} {device}"] = {
                "verdict": final_verdict(first.decision, pooled and pooled.decision),
                "first": first.decision.verdict,
                "ratio": round(d.ratio, 5), "low": round(d.low, 5), "high": round(d.high, 5),
                "second": None if pooled is None else pooled.decision.verdict,
                "units": [round(x, 6) for x in first.log_ratios],
                "retimes_units": [] if pooled is None else [[round(x, 6) for x in u] for u in pooled.sessions]}
            log(f"  {cell} {phase}: " + ", ".join(f"{k} {v}" for k, v in step.items() if not k.endswith("units"))
                + f", retimes {len(step['retimes_units'])}")
    finally:
        session.close()
    return out


def trial(batch, *, cells, runs, load, slowdown, inject, root, baselines, log=print, after_run=None):
    """Runs the experiment; returns this kind's entry of the result file, with its start time
    (``started``, ISO) and the commit both sides ran (``code``). ``after_run(kind, entry)`` is
    called with the entry so far after each run (to store it, so that an interrupted trial
    keeps the runs it finished)."""
    thresholds, kind, how = thresholds_for(load_calibrations(baselines), fingerprint())
    kind = kind or machine_kind(fingerprint())
    if thresholds is None:
        raise ValueError(f"{how} in {baselines}: nothing to take thresholds from")
    repo = worktree.repo_root(root)
    head = worktree.resolve(repo, "HEAD")
    dirty = git.run(repo, "status", "--porcelain", "--", *git.CODE_PATHS).stdout.strip()
    if dirty:  # the two sides would run different code: no A/A
        raise ValueError(f"the working tree's code differs from HEAD ({dirty.splitlines()[0]} ...): commit it first")
    steps = gated_steps(cells)
    entry = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "code": head,
             "thresholds": {"how": how, "min_effect": thresholds.min_effect, "pairs": thresholds.pairs,
                            "process_sigma": thresholds.process_sigma, "looks": list(thresholds.looks),
                            "estimator": thresholds.estimator},
             "placement": PLACEMENT, "build_placement": BUILD_PLACEMENT, "runs": []}
    with worktree.checkout(repo, head) as baseline_root, second_job(load):
        for k in range(runs):
            started = time.perf_counter()
            if slowdown:
                log(f"+{slowdown:.0%} on {inject[0]} {inject[1]}: run {k + 1} of {runs}")
                verdicts = one_run(root, baseline_root, batch, thresholds, [(*inject, "CPU:0")],
                                   len(steps), slowdown, log)
            else:
                log(f"A/A run {k + 1} of {runs}" + (" beside a second job" if load else ""))
                verdicts = one_run(root, baseline_root, batch, thresholds, steps, len(steps), log=log)
            entry["runs"].append({"seconds": round(time.perf_counter() - started, 1), "steps": verdicts})
            entry["summary"] = summary(entry["runs"])
            if after_run is not None:
                after_run(kind, entry)
    return kind, entry


def summary(runs):
    """The counts a trial's runs give: runs with any step flagged slower (a false alarm in an
    A/A), steps flagged before their confirmation, fresh-worker retimes, and the inconclusive
    verdicts (which pass)."""
    def count(verdict, key="verdict"):
        return [sum(v[key] == verdict for v in run["steps"].values()) for run in runs]

    return {"runs": len(runs), "runs_flagged_slower": sum(n > 0 for n in count("slower")),
            "steps_flagged_before_confirmation": sum(count("slower", "first")),
            "retimes": sum(len(_sessions(v)) for run in runs for v in run["steps"].values()),
            "steps": sum(len(run["steps"]) for run in runs), "steps_inconclusive": sum(count("inconclusive")),
            "runs_with_an_inconclusive": sum(n > 0 for n in count("inconclusive"))}


def _sessions(step):
    """A stored step's fresh-worker sessions' units (an entry from before the retimes kept one
    confirmation as ``second_units``)."""
    if "retimes_units" in step:
        return step["retimes_units"]
    return [step["second_units"]] if step.get("second_units") else []


def replay(entry, thresholds, family):
    """The runs of a stored trial entry judged again by today's rule from their stored units:
    ``{"runs": n, "runs_flagged_slower": k}``. A retime the rule calls for takes the trial's
    own fresh sessions' units while it has them, then the next runs' units of that step
    (cyclically; a run that stopped at its first look holds only that look's)."""
    runs = entry["runs"]

    def fails(k, name):
        step = runs[k]["steps"][name]
        later = (runs[(k + j) % len(runs)]["steps"][name]["units"] for j in range(1, len(runs)))
        first, pooled, _ = replay_step(step["units"], itertools.chain(_sessions(step), later), thresholds, family)
        return final_verdict(first, pooled) == "slower"

    flagged = sum(any(fails(k, name) for name in run["steps"]) for k, run in enumerate(runs))
    return {"runs": len(runs), "runs_flagged_slower": flagged}


def store(out, kind, entry, *, load, slowdown, inject, command):
    """Adds ``entry`` (``trial``'s, for machine ``kind``) to the result file ``out`` under the
    experiment's name, beside other kinds' and experiments' entries; written atomically. Its
    ``started`` tells this trial's later stores from an earlier trial of the same experiment,
    which is kept under its own date's name, never replaced."""
    name = ("injected" if slowdown else "aa") + ("_beside_a_second_job" if load else "")
    if slowdown:
        name += f"_{slowdown:.2f}_{inject[0]}_{inject[1]}"
    stored = json.loads(out.read_text()) if out.is_file() else {"what": __doc__.split("\n\n")[0]}
    experiments = stored.setdefault("kinds", {}).setdefault(kind, {"machine": fingerprint()})
    earlier = experiments.get(name)
    if earlier is not None and earlier.get("started") != entry["started"]:
        base = kept = f"{name}_{earlier.get('date', 'undated')}"
        for n in itertools.count(2):
            if kept not in experiments:
                break
            kept = f"{base}_{n}"
        experiments[kept] = earlier
    experiments[name] = {**entry, "date": datetime.date.today().isoformat(), "command": command}
    write_json_atomic(out, stored)
