"""``gate-check``: the A/B speed gate measures its own false-alarm rate and power.

On the machine it runs on, it runs the whole gate ``runs`` times with the same code on
both sides (A/A), each run in fresh worker processes, and ``runs`` times per injected
slowdown of one step. Every run takes all the looks' units, so the stored samples
can be replayed under any thresholds. From the A/A runs it derives the thresholds:

- ``process_sigma``: the spread of the ratio between fresh processes beyond what one
  run's own units show (method of moments: the variance of the per-run estimates minus
  their mean squared standard error);
- ``min_effect``: ``MIN_EFFECT_FACTOR`` times the second-largest A/A deviation of any step in
  any run: past how far an unchanged step's ratio strayed, with room for its interval, so that
  an unchanged step is found unchanged rather than inconclusive. The single largest is set
  aside: no step fails on one session's units (an unclear one is retimed in fresh workers and
  decided on the pooled units), so one session's lone outlier is the retimes' to absorb, not
  the threshold's (docs/decisions.md measures both choices);

then replays the gate's sequential decision on every stored run, with its fresh-worker
retimes (a step a run finds unclear is decided again on its units and the next runs'
samples of it), and counts the A/A runs with any false alarm and the injected runs flagged.
All of it, with the machine's fingerprint, goes to ``baselines/speed_gate/<machine
kind>.json``, where the gate reads its thresholds on machines of that kind; other kinds'
files stay as they are.
"""

import datetime
import math
import platform
import statistics
import time

import numpy as np

from rnn_models.config import PHASES
from rnn_models.machine.environment import fingerprint
from rnn_models.records.calibrations import SCHEMA_VERSION
from rnn_models.regression.speed import (ESTIMATORS, Thresholds, decide_sequentially, decide_with_retimes,
                                         final_verdict)
from rnn_models.speed.ab import BUILD_PLACEMENT, PLACEMENT, ABSession

DEFAULT_RUNS = 20  # clean A/A runs, and runs per injected slowdown
DEFAULT_LOOKS = (16, 32)
DEFAULT_BLOCK_S = 0.1
DEFAULT_ALPHA = 0.01
DEFAULT_SLOWDOWNS = (0.05,)
DEFAULT_INJECT = (("basic_lstm", "train"), ("gru", "inference"))
DEFAULT_PAIRS = 3
MIN_EFFECT_FACTOR = 1.5  # lower leaves many A/A verdicts inconclusive (docs/decisions.md)
# Each estimator's se over the mean's, for normal data (asymptotic relative efficiency 2/pi, 3/pi).
SE_FACTORS = {"median": math.sqrt(math.pi / 2.0), "hodges_lehmann": math.sqrt(math.pi / 3.0)}


def gated_steps(cells):
    """Every (cell, phase, device) the gate times: the suite's CPU steps."""
    return [(cell, phase, "CPU:0") for cell in cells for phase in PHASES]


def _sampling_thresholds(looks, block_s, alpha, pairs):
    """Thresholds for sampling only (every look is taken); the decision is replayed later."""
    return Thresholds(min_effect=0.5, process_sigma=0.0, family_alpha=alpha, looks=tuple(looks),
                      block_s=block_s, pairs=pairs)


def _run(root, batch, thresholds, steps, family, slowdown=0.0, log=print):
    session = ABSession(root, root, batch, thresholds)
    try:
        out = {}
        for cell, phase, device in steps:
            result = session.compare(cell, phase, device, family, slowdown=slowdown, exhaust=True)
            out[f"{cell} {phase} {device}"] = [round(v, 6) for v in result.log_ratios]
            log(f"  {cell} {phase}: ratio {result.decision.ratio:.4f} over {len(result.log_ratios)} "
                f"units of {result.unit_steps} step pairs")
        return out
    finally:
        session.close()


def derive_thresholds(aa_runs, alpha, looks, block_s, pairs=1, retimes=Thresholds.retimes,
                      estimator=Thresholds.estimator):
    """``(Thresholds, derivation dict)`` from the A/A runs' samples, each cut to the last look's
    units: what one run of a gate with these looks would see."""
    estimates, errors = {}, {}
    for run in aa_runs:
        for step, d in run.items():
            d = d[:looks[-1]]
            estimate, _, _ = ESTIMATORS[estimator](d, 0.5)
            estimates.setdefault(step, []).append(estimate)
            errors.setdefault(step, []).append(SE_FACTORS[estimator] * statistics.stdev(d) / math.sqrt(len(d)))
    between = [max(0.0, statistics.variance(estimates[s]) - statistics.mean(e ** 2 for e in errors[s]))
               for s in estimates if len(estimates[s]) > 1]
    process_sigma = math.sqrt(statistics.mean(between)) if between else 0.0
    deviations = sorted(abs(math.expm1(e)) for values in estimates.values() for e in values)
    largest, second = deviations[-1], deviations[-2] if len(deviations) > 1 else deviations[-1]
    min_effect = math.ceil(MIN_EFFECT_FACTOR * second * 1000) / 1000
    derivation = {
        "process_sigma": f"sqrt(mean over steps of max(0, var of the per-run log-ratio estimates - "
                         f"their mean squared se)) over {len(aa_runs)} A/A runs",
        "min_effect": f"{MIN_EFFECT_FACTOR} x the second-largest A/A deviation {second:.4f} (the largest, "
                      f"{largest:.4f}, is one session's, which the retimes pool away), rounded up to 0.1%",
        "largest_aa_deviation": largest,
        "second_largest_aa_deviation": second,
        "aa_estimate_sd": statistics.pstdev([e for v in estimates.values() for e in v]),
    }
    return Thresholds(min_effect, process_sigma, alpha, tuple(looks), block_s, pairs, retimes, estimator), derivation


def replay_step(units, fresh_samples, thresholds, family):
    """One step's first A/B and retimes replayed on stored units: ``(first, pooled or None,
    retimes taken)``, each retime the rule calls for taking the next of ``fresh_samples``
    (an iterable of units, the fresh sessions' in order)."""
    first = decide_sequentially(np.asarray(units), thresholds, family)
    fresh = iter(fresh_samples)
    pooled, sessions = decide_with_retimes(first, units[:first.units], lambda: next(fresh), thresholds, family)
    return first, pooled, len(sessions)


def retime_across_runs(samples, thresholds, family):
    """The gate's sequential decision and its retimes replayed on one step's samples over
    independent runs: an unclear run's step (``needs_retime``) is decided again with the next
    runs' whole samples (cyclically), the fresh workers' sessions the gate would start.
    ``[(first, pooled or None, retimes taken), ...]``, one per run."""
    if len(samples) <= thresholds.retimes:
        raise ValueError(f"replaying {thresholds.retimes} fresh-worker retimes needs more runs of each step "
                         f"than that, got {len(samples)}")
    return [replay_step(d, (samples[(k + j) % len(samples)] for j in range(1, len(samples))), thresholds, family)
            for k, d in enumerate(samples)]


def _cut(samples, units):
    return [d[:units] for d in samples]


def evaluate(thresholds, aa_runs, injected, family):
    """The gate's verdicts replayed on every stored run, retimes included, and its rates. Each
    sample is cut to the last look's units, as a gate session (a first A/B or a retime) takes."""
    last = thresholds.looks[-1]
    aa_runs = [dict(zip(run, _cut(run.values(), last))) for run in aa_runs]
    injected = [{**group, "samples": _cut(group["samples"], last)} for group in injected]
    steps = list(aa_runs[0]) if aa_runs else []
    by_step = {s: retime_across_runs([run[s] for run in aa_runs], thresholds, family) for s in steps}
    aa = [[by_step[s][k] for s in steps] for k in range(len(aa_runs))]  # per run: (first, pooled, retimes)
    final = [[final_verdict(first, pooled) for first, pooled, _ in run] for run in aa]
    summary = {
        "runs": len(aa_runs),
        "steps_per_run": len(steps),
        "runs_with_false_alarm": sum("slower" in run for run in final),
        "runs_flagged_before_confirmation": sum(any(first.fails for first, _, _ in run) for run in aa),
        "steps_flagged_slower": sum(run.count("slower") for run in final),
        "steps_flagged_before_confirmation": sum(first.fails for run in aa for first, _, _ in run),
        "steps_retimed": sum(n > 0 for run in aa for _, _, n in run),
        "retimes": sum(n for run in aa for _, _, n in run),
        "verdicts": _counts(v for run in final for v in run),
        "ratio_quantiles": _quantiles([first.ratio for run in aa for first, _, _ in run]),
        "units_used": _counts(first.units for run in aa for first, _, _ in run),
    }
    injected_summary = []
    for group in injected:
        replayed = retime_across_runs(group["samples"], thresholds, family)
        decisions = [first for first, _, _ in replayed]
        final = [final_verdict(first, pooled) for first, pooled, _ in replayed]
        truth = 1.0 + group["slowdown"]
        injected_summary.append({
            "cell": group["cell"], "phase": group["phase"], "slowdown": group["slowdown"],
            "runs": len(decisions), "flagged": final.count("slower"),
            "flagged_before_confirmation": sum(d.fails for d in decisions),
            "retimes": sum(n for _, _, n in replayed),
            "verdicts": _counts(final),
            "unchanged_or_faster_excluding_truth": sum(
                d.verdict in ("unchanged", "faster") and not d.low <= truth <= d.high for d in decisions),
            "ratio_quantiles": _quantiles([d.ratio for d in decisions]),
            "units_used": _counts(d.units for d in decisions),
        })
    return summary, injected_summary


def _counts(values):
    out = {}
    for value in values:
        out[str(value)] = out.get(str(value), 0) + 1
    return dict(sorted(out.items()))


def _quantiles(values):
    if not values:
        return {}
    q = np.quantile(values, [0.0, 0.05, 0.5, 0.95, 1.0])
    return dict(zip(("min", "p05", "median", "p95", "max"), (round(float(v), 5) for v in q)))


def calibrate(batch, *, cells, runs, slowdowns, inject, looks, block_s, alpha, pairs, root,
              command="", log=print, progress=None, estimator=None):
    """Runs the experiment and returns the calibration (the JSON the gate reads). ``inject``
    lists the ``(cell, phase)`` steps each slowdown is injected into, one at a time.
    ``progress`` (``rnn_models.selfcheck.progress.Progress``) keeps every finished run, and
    holds those of an interrupted calibration with the same settings, which are not run again."""
    from rnn_models.selfcheck.progress import Progress

    progress = progress or Progress()
    steps = gated_steps(cells)
    family = len(steps)
    sampling = _sampling_thresholds(looks, block_s, alpha, pairs)
    started = time.perf_counter()
    before = sum(run["seconds"] for group in progress.groups.values() for run in group)
    aa = progress.runs("aa")
    for k in range(len(aa), runs):
        log(f"A/A run {k + 1} of {runs}")
        t = time.perf_counter()
        samples = _run(root, batch, sampling, steps, family, log=log)
        aa.append({"samples": samples, "seconds": time.perf_counter() - t})
        progress.keep()
    injected = []
    for slowdown in slowdowns:
        for cell, phase in inject:
            done = progress.runs(f"+{slowdown} {cell} {phase}")
            for k in range(len(done), runs):
                log(f"+{slowdown:.0%} on {cell} {phase}: run {k + 1} of {runs}")
                t = time.perf_counter()
                run = _run(root, batch, sampling, [(cell, phase, "CPU:0")], family, slowdown=slowdown, log=log)
                done.append({"samples": next(iter(run.values())), "seconds": time.perf_counter() - t})
                progress.keep()
            injected.append({"cell": cell, "phase": phase, "slowdown": slowdown,
                             "samples": [run["samples"] for run in done]})
    aa_runs, aa_seconds = [run["samples"] for run in aa], [run["seconds"] for run in aa]
    calibration = {
        "schema_version": SCHEMA_VERSION,
        "what": "the A/B speed gate's thresholds, and its false-alarm rate and power measured "
                "with them (python -m rnn_models gate-check)",
        "date": datetime.date.today().isoformat(),
        "command": command,
        "machine": fingerprint(),
        "node": platform.node(),
        "thresholds": {"family_alpha": alpha, "looks": list(looks), "block_s": block_s, "pairs": pairs},
        "placement": PLACEMENT,
        "build_placement": BUILD_PLACEMENT,
        "family_size": family,
        "wall_s": before + time.perf_counter() - started,
        "seconds_per_aa_run_all_looks": statistics.median(aa_seconds),
        "samples": {"aa": aa_runs, "injected": injected},
    }
    return derive(calibration, estimator=estimator)


def derive(calibration, looks=None, alpha=None, estimator=None):
    """The calibration with its thresholds derived from its A/A samples and its rates replayed
    with them (``gate-check --from FILE`` does this again after the derivation changed).
    ``looks`` replays the runs as if they had taken those looks: every sample is cut to the
    last look's units, which each must hold (the file keeps them whole). ``alpha`` replays
    another false-alarm level, ``estimator`` another of ``speed.ESTIMATORS`` (default: the
    file's, else the gate's)."""
    t, samples = dict(calibration["thresholds"]), calibration["samples"]
    if looks:
        last = max(looks)
        held = min([len(d) for run in samples["aa"] for d in run.values()] +
                   [len(d) for group in samples["injected"] for d in group["samples"]])
        if last > held:
            raise ValueError(f"--looks {' '.join(map(str, looks))}: the stored samples hold {held} units "
                             f"each; a replayed look can take at most that many")
        t["looks"] = list(looks)
    if alpha:
        t["family_alpha"] = alpha
    t["estimator"] = estimator or t.get("estimator", Thresholds.estimator)
    thresholds, derivation = derive_thresholds(samples["aa"], t["family_alpha"], t["looks"], t["block_s"],
                                               t.get("pairs", 1), t.get("retimes", Thresholds.retimes),
                                               t["estimator"])
    aa_summary, injected_summary = evaluate(thresholds, samples["aa"], samples["injected"],
                                            calibration["family_size"])
    seconds = calibration.get("seconds_per_aa_run_all_looks",  # an older file kept it in its rates
                              calibration.get("measured", {}).get("aa", {}).get("seconds_per_run_all_looks"))
    if seconds is not None:
        aa_summary["seconds_per_run_all_looks"] = seconds
    t.update(min_effect=thresholds.min_effect, process_sigma=thresholds.process_sigma, retimes=thresholds.retimes)
    return {**calibration, "thresholds": t, "samples": samples, "derivation": derivation,
            "measured": {"aa": aa_summary, "injected": injected_summary}}
