"""Where the A/B's workers run, measured: A/A sessions of one step (both sides this checkout),
each of ``--pairs`` fresh worker pairs taking ``--units`` units in turn, with each pair's two
workers on one core while timed (``--placement pinned``, the A/B's own,
``rnn_models.speed.ab.PLACEMENT`` and ``BUILD_PLACEMENT``) or free to use every core (``free``,
as before). Writes every unit's log ratio, pair and
per-side median step, and each placement's spread of units and of pairs, to ``--out`` (JSON,
one entry under ``placements`` per placement, the others kept) as it goes.

    python tools/measure_placement.py --placement free --out placement.json
    python tools/measure_placement.py --placement pinned --out placement.json

Nothing else may run on the machine meanwhile.
"""

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_models.machine.environment import fingerprint  # noqa: E402
from rnn_models.records.atomic import write_json_atomic  # noqa: E402
from rnn_models.records.calibrations import load_calibration  # noqa: E402
from rnn_models.speed.ab import BUILD_PLACEMENT, PLACEMENT, ABSession, real_batch, unit_steps  # noqa: E402


def session_units(session, cell, phase, units):
    """``units`` A/A units of one step, taken as ``ABSession.compare`` takes them (the pairs in
    turn, each side opening alternately): each unit's pair, log ratio and per-side median step."""
    with session.built(cell, phase, "CPU:0") as (key, _):
        steps = unit_steps(session.thresholds.block_s, session._uncontended_step_s(key))  # as the A/B does
        rows = []
        for u in range(units):
            rounds, pair = divmod(u, len(session.pairs))
            times = {"current": [], "baseline": []}  # the A/B's own unit, with each side's steps kept
            log_ratio = session._unit(session.pairs[pair], key, steps, 0.0, times,
                                      current_first=(rounds + pair) % 2 == 0)
            rows.append({"pair": pair, "log_ratio": log_ratio,
                         **{f"{name}_median_s": statistics.median(t) for name, t in times.items()}})
    return steps, rows


def spreads(sessions):
    """The spread of the units (mean within-session sd) and of the pairs (sd of the pair means)."""
    pair_means = [statistics.mean(r["log_ratio"] for r in s["units"] if r["pair"] == k)
                  for s in sessions for k in range(s["pairs"])]
    return {"unit_sd": statistics.mean(statistics.stdev(r["log_ratio"] for r in s["units"]) for s in sessions),
            "pair_mean_sd": statistics.stdev(pair_means) if len(pair_means) > 1 else None,
            "largest_pair_mean": max(pair_means, key=abs), "pairs": len(pair_means)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--placement", choices=("pinned", "free"), required=True)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--units", type=int, default=90, help="units a session, over all its pairs")
    parser.add_argument("--cell", default="basic_lstm")
    parser.add_argument("--phase", default="train")
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", help="the entry's name under placements (default: --placement)")
    args = parser.parse_args()
    thresholds, how = load_calibration(ROOT / "baselines")
    batch, out = real_batch(), Path(args.out)
    result = json.loads(out.read_text()) if out.exists() else {"what": __doc__.split("\n\n")[0], "placements": {}}
    entry = result["placements"][args.name or args.placement] = {
        "placement": f"timed: {PLACEMENT}; building: {BUILD_PLACEMENT}" if args.placement == "pinned"
        else "every core, TensorFlow's default pools",
        "date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
        "machine": fingerprint(), "thresholds": how, "step": f"{args.cell} {args.phase}", "sessions": []}
    with tempfile.TemporaryDirectory(prefix="rnnbench-placement-") as work:
        for k in range(args.sessions):
            started = time.perf_counter()
            session = ABSession(ROOT, ROOT, batch, thresholds, log_dir=work, pairs=args.pairs,
                                pin_cores=args.placement == "pinned")
            try:
                steps, rows = session_units(session, args.cell, args.phase, args.units)
            finally:
                session.close()
            entry["sessions"].append({"pairs": args.pairs, "cores": session.cores, "unit_steps": steps,
                                      "seconds": time.perf_counter() - started, "units": rows})
            entry["summary"] = {**spreads(entry["sessions"]), "median_step_s": statistics.median(
                u["current_median_s"] for s in entry["sessions"] for u in s["units"])}
            write_json_atomic(out, result)
            print(f"session {k + 1}/{args.sessions}: {entry['summary']}", flush=True)


if __name__ == "__main__":
    main()
