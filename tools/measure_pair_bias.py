"""How much one pair of A/B worker processes biases its ratio: the same real slowdown (bisect-check's
``Dense(width)`` head against its parent, ``rnn_models.selfcheck.bisect_check.head_ab``) measured by
``--sessions`` fresh A/B sessions, each of ``--pairs`` worker pairs, all the calibrated looks'
units taken. Writes every session's ratio, interval and per-side median step to ``--out`` (JSON)
as it goes.

    python tools/measure_pair_bias.py --sessions 20 --pairs 1 --out pair_bias.json

Nothing else may run on the machine meanwhile.
"""

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_models.machine.environment import fingerprint  # noqa: E402
from rnn_models.records.atomic import write_json_atomic  # noqa: E402
from rnn_models.records.calibrations import load_calibration  # noqa: E402
from rnn_models.regression.speed import decide  # noqa: E402
from rnn_models.selfcheck.bisect_check import head_ab  # noqa: E402
from rnn_models.speed.ab import real_batch  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--width", type=int, default=1331, help="the head's width (bisect-check's tuned one)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    thresholds, how = load_calibration(ROOT / "baselines")
    batch = real_batch()
    result = {"date": datetime.date.today().isoformat(), "command": " ".join(["python", *sys.argv]),
              "machine": fingerprint(), "thresholds": how, "sessions": []}
    with tempfile.TemporaryDirectory(prefix="rnnbench-pair-bias-") as work:
        for k in range(args.sessions):
            started = time.perf_counter()
            ab = head_ab(args.width, work, thresholds, batch, args.pairs)
            d = decide(ab.log_ratios, thresholds, 1)
            result["sessions"].append({
                "ratio": d.ratio, "low": d.low, "high": d.high, "units": d.units, "unit_steps": ab.unit_steps,
                "current_median_s": ab.current_median_s, "baseline_median_s": ab.baseline_median_s,
                "seconds": time.perf_counter() - started})
            write_json_atomic(Path(args.out), result)
            print(f"session {k + 1}/{args.sessions}: {d.interval_text()}", flush=True)


if __name__ == "__main__":
    main()
