"""``gate-trial``: the whole speed gate run as CI runs it, on this machine, with the thresholds
it would get here (and the fresh-worker confirmation of a step found slower), to
measure its false alarms and power where no calibration was made, or beside a second job
where one was (``gate-check`` makes a kind's calibration).

Each run starts fresh workers for both sides over the same code (A/A) and judges every gated
step exactly as the suite does (``rnn_models.speed.gate.compare_confirmed``); an injected run
stretches one step of the current side. ``--load`` runs a second job beside the gate, a
single-threaded NumPy matmul loop, as a CI machine's neighbour would. Results go to
``baselines/speed_gate_trials.json`` (one entry per machine kind and experiment, kept beside
the others), with the thresholds that judged them and the inconclusive verdicts counted.
"""

import contextlib
import datetime
import json
import os
import subprocess
import sys
import time

from rnn_models import git
from rnn_models.machine.environment import fingerprint
from rnn_models.records.atomic import write_json_atomic
from rnn_models.records.calibrations import load_calibrations, machine_kind, thresholds_for
from rnn_models.regression.speed import confirmation, confirmed_verdict, decide_sequentially
from rnn_models.selfcheck.gate_check import gated_steps
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABSession
from rnn_models.speed.gate import compare_confirmed

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
    units, second_units}}``; ``units`` are the first A/B's samples (log ratios, in the order the
    pairs took them) and ``second_units`` the confirmation's own, kept so that other rules can
    be replayed on them."""
    def restart():
        return ABSession(root, baseline_root, batch, thresholds)

    session = restart()
    out = {}
    try:
        for cell, phase, device in steps:
            first, second, session = compare_confirmed(session, restart, cell, phase, device, family,
                                                       slowdown=slowdown)
            d = (second or first).decision
            out[f"{cell} {phase} {device}"] = {
                "verdict": confirmed_verdict(first.decision, second and second.decision),
                "first": first.decision.verdict,
                "ratio": round(d.ratio, 5), "low": round(d.low, 5), "high": round(d.high, 5),
                "second": None if second is None else second.decision.verdict,
                "units": [round(x, 6) for x in first.log_ratios],
                "second_units": None if second is None else  # the fresh workers' own
                [round(x, 6) for x in second.log_ratios[len(first.log_ratios):]]}
            log(f"  {cell} {phase}: " + ", ".join(f"{k} {v}" for k, v in out[f"{cell} {phase} {device}"].items()
                                                   if not k.endswith("units")))
    finally:
        session.close()
    return out


def trial(batch, *, cells, runs, load, slowdown, inject, root, baselines, log=print, after_run=None):
    """Runs the experiment; returns this kind's entry of the result file. ``after_run(kind,
    entry)`` is called with the entry so far after each run (to store it, so that an
    interrupted trial keeps the runs it finished)."""
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
    entry = {"thresholds": {"how": how, "min_effect": thresholds.min_effect, "pairs": thresholds.pairs,
                            "process_sigma": thresholds.process_sigma, "looks": list(thresholds.looks)},
             "runs": []}
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
    A/A), steps flagged before their confirmation, and the inconclusive verdicts (which pass)."""
    def count(verdict, key="verdict"):
        return [sum(v[key] == verdict for v in run["steps"].values()) for run in runs]

    return {"runs": len(runs), "runs_flagged_slower": sum(n > 0 for n in count("slower")),
            "steps_flagged_before_confirmation": sum(count("slower", "first")),
            "steps": sum(len(run["steps"]) for run in runs), "steps_inconclusive": sum(count("inconclusive")),
            "runs_with_an_inconclusive": sum(n > 0 for n in count("inconclusive"))}


def replay(entry, thresholds, family):
    """The runs of a stored trial entry judged again by today's rule from their stored units:
    ``{"runs": n, "runs_flagged_slower": k}``, a step failing when its first A/B finds it
    slower and the decision on its units and the confirmation's together is slower too."""
    def fails(step):
        if not decide_sequentially(step["units"], thresholds, family).fails:
            return False
        return confirmation(step["units"], step["second_units"], thresholds, family).fails

    flagged = sum(any(fails(step) for step in run["steps"].values()) for run in entry["runs"])
    return {"runs": len(entry["runs"]), "runs_flagged_slower": flagged}


def store(out, kind, entry, *, load, slowdown, inject, command):
    """Adds ``entry`` (``trial``'s, for machine ``kind``) to the result file ``out`` under the
    experiment's name, beside other kinds' and experiments' entries; written atomically."""
    name = ("injected" if slowdown else "aa") + ("_beside_a_second_job" if load else "")
    if slowdown:
        name += f"_{slowdown:.2f}_{inject[0]}_{inject[1]}"
    stored = json.loads(out.read_text()) if out.is_file() else {"what": __doc__.split("\n\n")[0]}
    experiments = stored.setdefault("kinds", {}).setdefault(kind, {"machine": fingerprint()})
    experiments[name] = {**entry, "date": datetime.date.today().isoformat(), "command": command}
    write_json_atomic(out, stored)
