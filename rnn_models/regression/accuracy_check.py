"""``gate-check --accuracy``: the accuracy gate measures its own false-fail rate and power.

It trains the suite's run of each cell over seeds under a *variant*, a code change made in
the training process:

- ``rounding``: XLA switched for every cell (on where the registry has it off, off where
  on): the same model and data, other float rounding. The gate's A/A test.
- ``adam_eps=E``: Adam's epsilon set to E instead of TF1's 1e-8, which lowers the
  10-epoch accuracy; its effect is measured over the seeds, not assumed.

and then replays the gate's decision (``rnn_models.regression.accuracy.judge``) over many
tries, each a random order of the variant's seeds (seed 0 first, as the gate runs it)
against the stored distribution. Its power curve shifts the ``rounding`` runs' statistic
down by a drop and replays again, so every cell gets the smallest drop caught in 95% of
tries. Runs go to ``runs/<variant>/<cell>_seed<S>.json`` and are reused when present;
training spreads over pinned worker processes, one per core.
"""

import dataclasses
import datetime
import math
import multiprocessing
import os
import statistics
import sys
from pathlib import Path

import numpy as np

from rnn_models._atomic import write_json_atomic
from rnn_models.baseline import BASELINE_DIR, CellBaseline
from rnn_models.environment import fingerprint
from rnn_models.results import RunResult

RESULT_FILE = "accuracy_gate.json"
TARGET_POWER = 0.95
DROPS = tuple(round(0.001 * k, 3) for k in range(0, 41))  # 0 to 4 points, the power curve's grid


def check_variant(name):
    """Raises a ValueError naming the forms when ``name`` is not a known variant."""
    value = name.partition("=")[2] if name.startswith("adam_eps=") else None
    if name in ("base", "rounding"):
        return
    try:
        if value is not None and math.isfinite(float(value)) and float(value) > 0:
            return
    except ValueError:
        pass
    raise ValueError(f"Unknown variant {name!r}: expected base, rounding or adam_eps=E (E > 0)")


def apply_variant(name):
    """Makes the variant's code change in this process."""
    from rnn_models import registry, steps

    check_variant(name)
    if name == "base":
        return
    if name == "rounding":
        for key, spec in list(registry.REGISTRY.items()):
            registry.REGISTRY[key] = dataclasses.replace(spec, prefers_xla=not spec.prefers_xla)
        return
    if name.startswith("adam_eps="):
        steps.ADAM_EPSILON = float(name.partition("=")[2])


def _run_path(runs_dir, variant, cell, seed):
    return Path(runs_dir) / variant / f"{cell}_seed{seed}.json"


def _worker(index, count, variant, jobs, runs_dir, data_path, log):
    from rnn_models.suite import pin_process

    pin_process(index, count)  # before TensorFlow is imported
    apply_variant(variant)
    from rnn_models.data import load_mnist
    from rnn_models.suite import matrix_config
    from rnn_models.train import prepare_for, train_and_evaluate

    mnist = load_mnist(data_path)
    while True:
        try:
            cell, seed = jobs.get_nowait()
        except Exception:  # queue.Empty
            return
        config = matrix_config(cell).replace(seed=seed)
        result = train_and_evaluate(config, prepare_for(config, mnist))
        result.save(_run_path(runs_dir, variant, cell, seed))
        log.put(f"{variant} {cell} seed {seed}: test accuracy {result.final_test.accuracy_mean:.4f}")


def record(variant, cells_seeds, runs_dir, data_path=None, processes=None, log=print):
    """Trains every missing ``(cell, seed)`` of ``variant``, in pinned processes."""
    todo = [(c, s) for c, s in cells_seeds if not _run_path(runs_dir, variant, c, s).is_file()]
    if not todo:
        return
    ctx = multiprocessing.get_context("spawn")
    jobs, lines = ctx.Queue(), ctx.Queue()
    for job in sorted(todo, key=lambda j: (j[0] != "ln_basic_lstm", j[1])):  # the longest first
        jobs.put(job)
    count = min(len(todo), processes or os.cpu_count() or 1)
    workers = [ctx.Process(target=_worker, args=(k, count, variant, jobs, runs_dir, data_path, lines))
               for k in range(count)]
    for w in workers:
        w.start()
    done = 0
    while done < len(todo) and any(w.is_alive() for w in workers):
        try:
            log(lines.get(timeout=5))
            done += 1
        except Exception:  # queue.Empty: check the workers are alive
            continue
    for w in workers:
        w.join()
    failed = [w.exitcode for w in workers if w.exitcode]
    if failed:
        raise RuntimeError(f"a training process of variant {variant} failed (exit {failed[0]})")


def load_runs(runs_dir, variant, cell, seeds):
    return [RunResult.load(_run_path(runs_dir, variant, cell, s)) for s in seeds]


def _shifted(run, drop):
    """``run`` with every test accuracy lowered by ``drop``: a change of known size."""
    curve = tuple(dataclasses.replace(e, accuracy_mean=e.accuracy_mean - drop) for e in run.test_curve)
    return dataclasses.replace(run, test_curve=curve)


def tries(baseline, pool, policy, n_tries, rng, drop=0.0):
    """The gate's verdicts over ``n_tries`` random seed orders of ``pool`` (RunResults by
    seed, none of them identical to the reference), seed 0 first."""
    from rnn_models.regression.accuracy import judge

    runs = {r.config.seed: _shifted(r, drop) if drop else r for r in pool}
    others = [s for s in runs if s != 0]
    verdicts = []
    for _ in range(n_tries):
        order = iter(rng.permutation(others))
        used = {}

        def run_seed(_seed):
            seed = int(next(order))  # the try's next seed, whatever number the gate asks for
            used[seed] = runs[seed]
            return runs[seed]

        verdicts.append(judge(baseline, runs[0], run_seed, policy, skip_identical=True))
    return verdicts


def analyze(cells, baselines_dir, runs_dir, aa_variant, perturbations, n_tries=1000, seed=0):
    """Rates of the gate per cell: A/A passes, each perturbation's measured drop and fails,
    and the power curve with its smallest drop caught at TARGET_POWER."""
    from rnn_models.regression.accuracy import statistic
    from rnn_models.suite import accuracy_policy, baseline_seeds

    rng = np.random.default_rng(seed)
    out = {}
    for cell in cells:
        policy = accuracy_policy(cell)
        baseline = CellBaseline.load(baselines_dir, cell)
        stored = [statistic(r.test_accuracy, policy) for r in baseline.seeds]
        seeds = baseline_seeds(cell)
        aa_pool = load_runs(runs_dir, aa_variant, cell, seeds)
        aa = tries(baseline, aa_pool, policy, n_tries, rng)
        entry = {
            "policy": dataclasses.asdict(policy),
            "statistic": policy.description,
            "stored": {"seeds": len(stored), "mean": statistics.fmean(stored), "sd": statistics.stdev(stored)},
            "aa": {"variant": aa_variant, "seeds": len(aa_pool), "tries": n_tries,
                   "passed": sum(not v.fails for v in aa), "seeds_used": _counts(len(v.candidate_values) for v in aa),
                   "mean_statistic": statistics.fmean(statistic([e.accuracy_mean for e in r.test_curve], policy)
                                                      for r in aa_pool)},
        }
        perturbed = []
        for variant, pool_seeds in perturbations.get(cell, []):
            pool = load_runs(runs_dir, variant, cell, pool_seeds)
            values = [statistic([e.accuracy_mean for e in r.test_curve], policy) for r in pool]
            finals = [r.final_test.accuracy_mean for r in pool]
            verdicts = tries(baseline, pool, policy, n_tries, rng)
            perturbed.append({
                "variant": variant, "seeds": len(pool),
                "drop_of_statistic": statistics.fmean(stored) - statistics.fmean(values),
                "drop_of_final_accuracy": statistics.fmean(r.final_test_accuracy for r in baseline.seeds)
                                          - statistics.fmean(finals),
                "tries": n_tries, "failed": sum(v.fails for v in verdicts),
                "seeds_used": _counts(len(v.candidate_values) for v in verdicts)})
        entry["perturbations"] = perturbed
        curve = {}
        for drop in DROPS:
            verdicts = tries(baseline, aa_pool, policy, max(200, n_tries // 5), rng, drop=drop)
            curve[f"{drop:.3f}"] = sum(v.fails for v in verdicts) / len(verdicts)
        entry["power_curve"] = curve
        caught = [float(d) for d, p in curve.items() if p >= TARGET_POWER]
        entry["smallest_drop_caught_at_95pct"] = min(caught) if caught else None
        out[cell] = entry
    return out


def _counts(values):
    counts = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


def check_cli(args):
    """``python -m rnn_models gate-check --accuracy``: record the variants, replay, store."""
    from rnn_models.paths import check_output_file
    from rnn_models.suite import baseline_seeds, matrix_cells

    out = check_output_file(args.out or BASELINE_DIR / RESULT_FILE, "--out")
    cells = args.cells or matrix_cells()
    perturbations = {}
    for spec in args.perturb or []:  # CELL:VARIANT
        cell, _, variant = spec.partition(":")
        if cell not in cells or not variant:
            raise ValueError(f"--perturb {spec!r}: expected CELL:VARIANT with CELL among {', '.join(cells)}")
        check_variant(variant)
        perturbations.setdefault(cell, []).append((variant, tuple(baseline_seeds(cell)[:args.perturb_seeds])))
    record(args.aa_variant, [(c, s) for c in cells for s in baseline_seeds(c)], args.runs_dir, args.data)
    for cell, items in perturbations.items():
        for variant, seeds in items:
            record(variant, [(cell, s) for s in seeds], args.runs_dir, args.data)
    result = analyze(cells, args.baselines, args.runs_dir, args.aa_variant, perturbations, args.tries)
    write_json_atomic(out, {
        "what": "the accuracy gate's A/A pass rate, power against real perturbations, and power "
                "curve, replayed over resampled tries of measured runs",
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python -m rnn_models", *sys.argv[1:]]),
        "machine": fingerprint(),
        "cells": result,
    })
    for cell, entry in result.items():
        aa = entry["aa"]
        line = [f"{cell}: A/A ({aa['variant']}) passed {aa['passed']} of {aa['tries']} tries"]
        for p in entry["perturbations"]:
            line.append(f"{p['variant']} (drop {p['drop_of_statistic'] * 100:.2f} points) failed "
                        f"{p['failed']} of {p['tries']}")
        smallest = entry["smallest_drop_caught_at_95pct"]
        line.append(f"smallest drop caught at 95%: {smallest * 100:.1f} points" if smallest is not None
                    else "no drop up to 4 points is caught at 95%")
        print("; ".join(line))
    print(f"written to {out}")
    return 0
