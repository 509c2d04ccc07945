"""``gate-check``: the speed gate measures its false-alarm rate and power on this machine, and
stores its calibration (``rnn_models.selfcheck.gate_check``)."""

import sys

from rnn_models.commands.arguments import finite_positive, fraction, positive_int, step
from rnn_models.records.baselines import BASELINE_DIR
from rnn_models.suite.options import add_options

NAME = "gate-check"
HELP = "measure the speed gate's false-alarm rate and power on this machine"


def add_arguments(parser):
    from rnn_models.regression.speed import ESTIMATORS
    from rnn_models.selfcheck.gate_check import DEFAULT_RUNS

    parser.add_argument("--runs", type=positive_int, default=None,
                        help=f"clean A/A runs of the whole gate, and runs per injected slowdown "
                             f"(default: {DEFAULT_RUNS})")
    parser.add_argument("--slowdown", type=fraction, action="append", default=None,
                        help="a slowdown to inject, as a fraction (repeatable; default: the gate's target)")
    parser.add_argument("--inject", type=step, action="append", default=None, metavar="CELL:PHASE",
                        help="a step to inject each slowdown into, one at a time (repeatable; default: "
                             "a train and an inference step)")
    parser.add_argument("--from", dest="samples_from", default=None, metavar="FILE",
                        help="measure nothing: derive the thresholds and replay the rates again from the "
                             "samples of a calibration FILE (after the derivation changed; with --looks "
                             "or --alpha, as if the runs had used those)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted gate-check from the runs it kept in OUT.partial "
                             "(the same settings; the runs kept are not measured again)")
    parser.add_argument("--pairs", type=positive_int, default=None,
                        help="fresh worker pairs that take each A/B's units in turn (default: the gate's own)")
    add_options(parser.add_argument, "--cells", cells={"help": "the gated cells (default: every registry entry)"})
    parser.add_argument("--looks", type=positive_int, nargs="+", default=None,
                        help="units (samples) at each sequential look")
    parser.add_argument("--block-ms", type=finite_positive, default=None,
                        help="target ms of one side's steps in a unit")
    parser.add_argument("--alpha", type=fraction, default=None, help="false-alarm level of the whole gate")
    parser.add_argument("--estimator", choices=sorted(ESTIMATORS), default=None,
                        help="the units' center and interval the thresholds are derived for "
                             "(default: the --from file's, else the gate's: median)")
    add_options(parser.add_argument, "--data")
    parser.add_argument("--out", default=None,
                        help=f"the calibration file (default: {BASELINE_DIR}/speed_gate/<this machine kind>.json)")


def run(*, runs: int | None, slowdown: list[float] | None, inject: list[tuple[str, str]] | None,
        samples_from: str | None, resume: bool, pairs: int | None, cells: list[str] | None, looks: list[int] | None,
        block_ms: float | None, alpha: float | None, estimator: str | None, data: str | None,
        out: str | None) -> int:
    from rnn_models import git
    from rnn_models.commands.arguments import command_line
    from rnn_models.machine.environment import fingerprint
    from rnn_models.records.calibrations import calibration_path, load_calibration_file, machine_kind
    from rnn_models.records.paths import check_output_file
    from rnn_models.registry import REGISTRY
    from rnn_models.selfcheck import gate_check
    from rnn_models.selfcheck.progress import Progress, partial_path
    from rnn_models.speed.ab import real_batch

    out = check_output_file(out or calibration_path(BASELINE_DIR, machine_kind(fingerprint())), "--out")
    if samples_from:
        measuring = {"--runs": runs, "--slowdown": slowdown, "--inject": inject, "--pairs": pairs,
                     "--cells": cells, "--block-ms": block_ms, "--data": data, "--resume": resume or None}
        given = [name for name, value in measuring.items() if value is not None]
        if given:
            raise ValueError(f"{', '.join(given)}: a measurement's setting, but --from measures nothing "
                             "(it replays the stored samples; only --looks, --alpha and --estimator change the replay)")
        calibration = gate_check.derive(load_calibration_file(samples_from), looks=looks, alpha=alpha,
                                        estimator=estimator)
        calibration["derived_by"] = command_line()
        return _report(out, calibration)
    cells = cells or list(REGISTRY)
    inject = tuple(inject or gate_check.DEFAULT_INJECT)
    outside = [f"{cell}:{phase}" for cell, phase in inject if cell not in cells]
    if outside:
        raise ValueError(f"--inject {', '.join(outside)}: not among the gated --cells")
    settings = {"kind": machine_kind(fingerprint()), "cells": cells, "runs": runs or gate_check.DEFAULT_RUNS,
                "slowdowns": slowdown or gate_check.DEFAULT_SLOWDOWNS, "inject": inject,
                "looks": looks or gate_check.DEFAULT_LOOKS,
                "block_s": (block_ms / 1e3) if block_ms else gate_check.DEFAULT_BLOCK_S,
                "alpha": alpha or gate_check.DEFAULT_ALPHA, "pairs": pairs or gate_check.DEFAULT_PAIRS}
    progress = Progress(partial_path(out), settings, resume)
    try:
        calibration = gate_check.calibrate(
            real_batch(data), cells=cells, runs=settings["runs"], slowdowns=tuple(settings["slowdowns"]),
            inject=inject, looks=tuple(settings["looks"]), block_s=settings["block_s"], alpha=settings["alpha"],
            pairs=settings["pairs"], root=git.SOURCE_ROOT, command=command_line(), progress=progress,
            estimator=estimator)
    except BaseException:  # Ctrl-C, SIGTERM, a worker that failed: what was measured stays
        if progress.count:
            print(f"gate-check: {progress.count} finished run(s) kept in {progress.path}; "
                  f"the same command with --resume continues them", file=sys.stderr)
        raise
    code = _report(out, calibration)
    progress.finish()
    return code


def _report(out, calibration):
    from rnn_models.records.atomic import write_json_atomic

    write_json_atomic(out, calibration)
    aa = calibration["measured"]["aa"]
    t = calibration["thresholds"]
    print(f"thresholds: min_effect {t['min_effect']:.1%}, process_sigma {t['process_sigma']:.4f}, "
          f"alpha {t['family_alpha']} over {calibration['family_size']} steps x {len(t['looks'])} looks, "
          f"{t.get('pairs', 1)} worker pair(s)")
    print(f"A/A: {aa['runs_with_false_alarm']} of {aa['runs']} runs with a false alarm "
          f"({aa['steps_flagged_slower']} of {aa['runs'] * aa['steps_per_run']} steps); verdicts {aa['verdicts']}")
    for inj in calibration["measured"]["injected"]:
        print(f"+{inj['slowdown']:.0%} on {inj['cell']} {inj['phase']}: flagged in {inj['flagged']} of "
              f"{inj['runs']}; verdicts {inj['verdicts']}; ratio {inj['ratio_quantiles']}")
    print(f"written to {out}")
    return 0
