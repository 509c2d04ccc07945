"""``accuracy-check``: the accuracy gate measures its own false-fail rate and power.

It trains the suite's run of each cell over seeds under a *variant*, a code change made in
the training process (``rnn_models.training.variants``: ``rounding`` for the A/A, ``adam_eps=E`` for
a real perturbation), and then replays the gate's statistical path
(``rnn_models.regression.accuracy.sequential``) over many tries, each a random order of the
variant's seeds (seed 0 first, as the gate runs it) against the stored distribution. A
variant's seed k starts from the stored seed k's weights and batch order, as the gate's
candidate does, and the gate pairs the two. The power curve moves a measured perturbation's
per-seed differences (their spread around their mean, the decorrelation a real change brings)
to each drop, and gives every cell the smallest drop caught in 95% of tries; an unpaired
policy's curve draws the candidate's seeds independently instead (the deviations of the measured
perturbation whose drop is nearest the target, resampled, around the stored mean lowered by each
drop: a real change widens basic_rnn's spread).

``--no-pin`` trains every variant with the machine's own kernels instead of the numerics pin:
what a machine whose seed 0 cannot reproduce the pinned references trains, so that ``base``
is the A/A of the statistical path on a machine that takes it.

Runs go to ``runs/<pinned|unpinned>/<variant>/<cell>_seed<S>.json`` and are reused when
present; training spreads over the training pool's worker processes, one per core, or over a
Ray cluster (``--ray-address``; ``rnn_models.executors.open_executor``).
"""

import dataclasses
import datetime
import json
import statistics
import zlib
from pathlib import Path

import numpy as np

from rnn_models.machine.environment import fingerprint
from rnn_models.records.atomic import write_json_atomic
from rnn_models.records.baselines import CellBaseline
from rnn_models.records.results import RunResult

RESULT_FILE = "accuracy_gate.json"
TARGET_POWER = 0.95
DROPS = tuple(round(0.001 * k, 3) for k in range(0, 41))  # 0 to 4 points, the power curve's grid


def _run_path(runs_dir, variant, cell, seed):
    return Path(runs_dir) / variant / f"{cell}_seed{seed}.json"


def record(variant, cells_seeds, runs_dir, data_path=None, processes=None, log=print, pin=True,
           ray_address=None):
    """Trains every missing ``(cell, seed)`` of ``variant`` in the executor of ``ray_address``
    (None: the local training pool), under the numerics pin unless ``pin`` is False, and keeps
    each run as ``runs_dir/variant/<cell>_seed<S>.json``."""
    from rnn_models.executors import open_executor
    from rnn_models.suite.matrix import matrix_config

    todo = [(c, s) for c, s in cells_seeds if not _run_path(runs_dir, variant, c, s).is_file()]
    if not todo:
        return
    todo.sort(key=lambda job: (job[0] != "ln_basic_lstm", job[1]))  # the longest first
    with open_executor(ray_address, processes=processes, data_path=data_path, variant=variant,
                       pin=pin) as executor:
        def keep(position, result):  # as each run ends: a stopped check keeps its finished runs
            cell, seed = todo[position]
            result.save(_run_path(runs_dir, variant, cell, seed))
            log(f"{variant} {cell} seed {seed}: test accuracy {result.final_test.accuracy_mean:.4f}")

        executor.run([matrix_config(c).replace(seed=s) for c, s in todo], on_result=keep)


def load_runs(runs_dir, variant, cell, seeds):
    return [RunResult.load(_run_path(runs_dir, variant, cell, s)) for s in seeds]


def tries(stored, pool, policy, n_tries, rng, drop=0.0):
    """The gate's statistical verdicts over ``n_tries`` random seed orders of ``pool``
    (``{seed: statistic}`` of runs that are not the reference), seed 0 first as the gate runs
    it, every value lowered by ``drop``; ``stored`` is ``{seed: statistic}`` of the stored
    seeds (a paired policy compares each seed with its own). Returns ``[(fails, seeds used)]``."""
    from rnn_models.regression.accuracy import sequential

    values = {seed: value - drop for seed, value in pool.items()}
    others = sorted(s for s in values if s != 0)
    out = []
    for _ in range(n_tries):
        order = [int(s) for s in rng.permutation(others)]
        looks, _, used = sequential(stored, values[0], lambda seeds: [values[s] for s in seeds],
                                    policy, order)
        out.append((looks[-1].verdict == "fail", len(used)))
    return out


def bootstrap_tries(stored, policy, n_tries, rng, drop=0.0, differences=None):
    """The gate's verdicts on resampled seeds, for the power curve. Unpaired: each candidate
    value is a deviation from the mean of ``differences`` (a measured perturbation's values;
    None: the stored seeds'), drawn with replacement, around the stored mean lowered by
    ``drop`` (seeds independent of the stored ones). Paired: each seed's difference from its
    stored run is drawn from ``differences`` (a measured perturbation's per-seed differences)
    around their mean, moved to ``drop``. Returns ``[(fails, seeds used)]``."""
    from rnn_models.regression.accuracy import sequential

    size = policy.looks[-1]
    if policy.paired:
        spread = np.asarray(differences) - statistics.fmean(differences)
        baseline = dict.fromkeys(range(size), 0.0)  # each seed's value is minus its difference
        draws_of = lambda: -(drop + rng.choice(spread, size=size))  # noqa: E731
    else:
        center = statistics.fmean(stored.values())
        values = list(stored.values()) if differences is None else differences
        deviations = np.asarray(values) - statistics.fmean(values)
        baseline = stored
        draws_of = lambda: center - drop + rng.choice(deviations, size=size)  # noqa: E731
    out = []
    for _ in range(n_tries):
        draws = draws_of()
        looks, _, used = sequential(baseline, float(draws[0]), lambda ks: [float(draws[k]) for k in ks],
                                    policy, range(1, len(draws)))
        out.append((looks[-1].verdict == "fail", len(used)))
    return out


def _cell_rng(cell, seed):
    return np.random.default_rng([seed, zlib.crc32(cell.encode())])


def rates(entry, n_tries, seed=0):
    """The A/A, perturbation and power-curve rates of one cell's stored samples: the same
    numbers for the same samples, so a stored result can be replayed and checked."""
    from rnn_models.regression.accuracy import Policy

    policy = Policy(**{**entry["policy"], "looks": tuple(entry["policy"]["looks"])})
    rng = _cell_rng(entry["cell"], seed)
    values = entry["stored"]["values"]
    stored = dict(zip(entry["stored"].get("seed_ids", range(len(values))), values))
    samples = {name: {int(k): v for k, v in values.items()} for name, values in entry["samples"].items()}
    aa_name = entry["aa_variant"]
    aa = tries(stored, samples[aa_name], policy, n_tries, rng)
    out = {"aa": {"variant": aa_name, "seeds": len(samples[aa_name]), "tries": n_tries,
                  "passed": sum(not f for f, _ in aa), "seeds_used": _counts(n for _, n in aa)},
           "perturbation_rates": []}
    for name in entry["perturbations"]:
        verdicts = tries(stored, samples[name], policy, n_tries, rng)
        out["perturbation_rates"].append({
            "variant": name, "seeds": len(samples[name]),
            "drop_of_statistic": statistics.fmean(stored[s] - v for s, v in samples[name].items()),
            "tries": n_tries, "failed": sum(f for f, _ in verdicts),
            "seeds_used": _counts(n for _, n in verdicts)})
    differences = None
    if policy.paired:  # the measured perturbation whose seeds' differences spread the widest
        differences = max(([stored[s] - v for s, v in samples[name].items()] for name in entry["perturbations"]),
                          key=statistics.stdev)
        out["power_curve_model"] = ("paired: per-seed differences drawn from the widest-spread measured "
                                    "perturbation's, around each drop")
    elif entry["perturbations"]:  # a real change widens basic_rnn's spread: take a change of about the target's
        drops = {p["variant"]: p["drop_of_statistic"] for p in out["perturbation_rates"]}
        nearest = min(drops, key=lambda name: abs(drops[name] - policy.target_drop))
        differences = [samples[nearest][seed] for seed in sorted(samples[nearest])]  # a stored file sorts them as text
        out["power_curve_model"] = (f"unpaired: candidate seeds drawn with the spread of {nearest}, the measured "
                                    "perturbation whose drop is nearest the target, around the stored mean lowered "
                                    "by each drop")
    curve = {}
    for drop in DROPS:
        verdicts = bootstrap_tries(stored, policy, max(200, n_tries // 5), rng, drop=drop,
                                   differences=differences)
        curve[f"{drop:.3f}"] = sum(f for f, _ in verdicts) / len(verdicts)
    out["power_curve"] = curve  # drop 0: the false-fail rate of a change that reshuffles seeds
    caught = [float(d) for d, p in curve.items() if p >= TARGET_POWER]
    out["smallest_drop_caught_at_95pct"] = min(caught) if caught else None
    return out


def analyze(cells, baselines_dir, runs_dir, aa_variant, perturbations, n_tries=1000, seed=0):
    """Each cell's stored statistic and the variants' per-seed statistics (the samples),
    with the rates replayed over them."""
    from rnn_models.regression.accuracy import policy_for, run_statistic, statistic
    from rnn_models.suite.matrix import baseline_seeds

    out = {}
    for cell in cells:
        policy = policy_for(cell)
        baseline = CellBaseline.load(baselines_dir, cell)
        stored = {r.seed: statistic(r.test_accuracy, policy) for r in baseline.seeds}
        variants = [(aa_variant, baseline_seeds(cell))] + perturbations.get(cell, [])
        samples, finals = {}, {}
        for variant, seeds in variants:
            runs = load_runs(runs_dir, variant, cell, seeds)
            samples[variant] = {str(r.config.seed): run_statistic(r, policy) for r in runs}
            finals[variant] = statistics.fmean(r.final_test.accuracy_mean for r in runs)
        out[cell] = _entry(cell, policy, stored, aa_variant, [v for v, _ in perturbations.get(cell, [])],
                           samples, n_tries, seed,
                           stored_extra={"mean_final_accuracy": statistics.fmean(
                               r.final_test_accuracy for r in baseline.seeds)},
                           mean_final_accuracy=finals)
    return out


def _entry(cell, policy, stored, aa_variant, perturbations, samples, n_tries, seed, stored_extra=(), **extra):
    """One cell's entry of a result file: the stored statistic, the samples and the rates
    replayed over them (``extra`` keys go before the samples, as written since the start)."""
    entry = {
        "cell": cell, "policy": dataclasses.asdict(policy), "statistic": policy.description,
        "stored": {"seeds": len(stored), "mean": statistics.fmean(stored.values()),
                   "sd": statistics.stdev(stored.values()), "seed_ids": list(stored),
                   "values": list(stored.values()), **dict(stored_extra)},
        "aa_variant": aa_variant, "perturbations": list(perturbations), **extra, "samples": samples,
    }
    entry.update(rates(entry, n_tries, seed))
    return entry


def replay(cells, baselines_dir, earlier_file, *, aa_ref=None, runs_dir=None, perturbations=None,
           aa_runs=None, n_tries=1000, seed=0):
    """The rates of the current policies against the stored seeds, over samples already
    measured: those of an earlier result file (its A/A and perturbations), the A/A replaced by
    the seeds stored at git ``aa_ref`` when given (the same code's runs, trained without the
    numerics pin: a machine whose seed 0 cannot reproduce the pinned references), or by the
    runs of ``aa_runs`` (``{cell: (variant, seeds)}``) in ``runs_dir``, and the
    ``perturbations`` runs in ``runs_dir`` added. A cell whose policy's statistic differs from
    the file's is an error: its samples would be of another statistic."""
    from rnn_models.regression.accuracy import policy_for, run_statistic, statistic

    earlier = json.loads(Path(earlier_file).read_text())["cells"]
    perturbations, aa_runs = perturbations or {}, aa_runs or {}
    out = {}
    for cell in cells:
        policy, entry = policy_for(cell), earlier[cell]
        if entry["policy"]["last_epochs"] != policy.last_epochs:
            raise ValueError(f"{earlier_file}: {cell}'s samples are the mean of the last "
                             f"{entry['policy']['last_epochs']} epochs, the policy's statistic of {policy.last_epochs}")
        baseline = CellBaseline.load(baselines_dir, cell)
        stored = {r.seed: statistic(r.test_accuracy, policy) for r in baseline.seeds}
        samples = {v: entry["samples"][v] for v in entry["perturbations"]}
        if aa_ref:
            aa_name, aa_machine = _stored_aa(cell, policy, baselines_dir, aa_ref, samples)
            extra = {"aa_machine": aa_machine}
        elif cell in aa_runs:
            aa_name, aa_seeds = aa_runs[cell]
            samples[aa_name] = {str(r.config.seed): run_statistic(r, policy)
                                for r in load_runs(runs_dir, aa_name, cell, aa_seeds)}
            extra = {}
        else:
            aa_name = entry["aa_variant"]
            samples[aa_name] = entry["samples"][aa_name]
            extra = {k: entry[k] for k in ("aa_machine",) if k in entry}
        for variant, seeds in perturbations.get(cell, []):
            samples[variant] = {str(r.config.seed): run_statistic(r, policy)
                                for r in load_runs(runs_dir, variant, cell, seeds)}
        names = list(dict.fromkeys([*entry["perturbations"], *(v for v, _ in perturbations.get(cell, []))]))
        out[cell] = _entry(cell, policy, stored, aa_name, names, samples, n_tries, seed, **extra)
    return out


def _stored_aa(cell, policy, baselines_dir, aa_ref, samples):
    """Adds the A/A samples of the seeds stored at git ``aa_ref`` to ``samples``; returns
    their name and the machine that trained them."""
    from rnn_models import git
    from rnn_models.regression.accuracy import statistic

    text = git.run(".", "show", f"{aa_ref}:{Path(baselines_dir).name}/{cell}.json").stdout
    earlier = json.loads(text)["seeds"]  # any schema: only each seed's accuracy curve is read
    name = f"unpinned seeds stored at {aa_ref}"
    samples[name] = {str(r["seed"]): statistic(r["test_accuracy"], policy) for r in earlier}
    return name, (earlier[0].get("fingerprint") or {}).get("cpu")


def _counts(values):
    counts = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: int(kv[0])))


def measure(cells, perturbations, *, baselines_dir, runs_dir, aa_variant, n_tries=1000, data_path=None,
            pin=True, ray_address=None):
    """Trains every missing run of ``aa_variant`` over each cell's stored seeds and of the
    ``perturbations`` (``{cell: [(variant, seeds)]}``), then replays the rates over them."""
    from rnn_models.suite.matrix import baseline_seeds

    record(aa_variant, [(c, s) for c in cells for s in baseline_seeds(c)], runs_dir, data_path, pin=pin,
           ray_address=ray_address)
    record_perturbations(perturbations, runs_dir, data_path, pin=pin, ray_address=ray_address)
    return analyze(cells, baselines_dir, runs_dir, aa_variant, perturbations, n_tries)


def record_perturbations(perturbations, runs_dir, data_path=None, pin=True, ray_address=None):
    """``record`` of every ``{cell: [(variant, seeds)]}`` run that is missing."""
    for cell, items in perturbations.items():
        for variant, seeds in items:
            record(variant, [(cell, s) for s in seeds], runs_dir, data_path, pin=pin, ray_address=ray_address)


def short_aa_cells(cells, earlier_file):
    """The cells whose A/A sample in ``earlier_file`` has fewer seeds than their policy's last
    look: a try could not fill it, so their A/A must be trained again."""
    from rnn_models.regression.accuracy import policy_for

    earlier = json.loads(Path(earlier_file).read_text())["cells"]
    return [cell for cell in cells
            if len(earlier[cell]["samples"][earlier[cell]["aa_variant"]]) < policy_for(cell).looks[-1]]


def perturbation_seeds(cell, count):
    """The seeds of a perturbation of ``cell``: its first ``count`` stored seeds, and at least
    as many as the gate's last look, since a try may use that many."""
    from rnn_models.regression.accuracy import policy_for
    from rnn_models.suite.matrix import baseline_seeds

    return tuple(baseline_seeds(cell)[:max(count, policy_for(cell).looks[-1])])


def store(out, result, *, n_tries, pin, command):
    """Writes ``result`` (``analyze``'s or ``replay``'s) to ``out`` atomically, with what
    measured it."""
    write_json_atomic(out, {
        "what": "the accuracy gate's A/A pass rate, power against real perturbations, and power "
                "curve, replayed over resampled tries of measured runs",
        "tries": n_tries, "rng_seed": 0, "numerics_pin": pin,
        "date": datetime.date.today().isoformat(),
        "command": command,
        "machine": fingerprint(),
        "cells": result,
    })
