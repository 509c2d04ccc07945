"""``python -m rnn_models``: train a cell as the tutorial did, list cells, redraw plots,
profile a step, calibrate the speed gate, and bisect a regression.

The CLI only parses and checks arguments; the work is ``rnn_models``' library calls.
Every argument, path and stored file is checked before any training. Exit codes: 0 done;
1 a run stopped on a non-finite loss or gradient (its result is still written), or a bisect
found no single first bad commit; 2 an error, reported on one line of stderr; 130 stopped by
Ctrl-C and 143 by SIGTERM, handled alike (``rnn_models.machine.interrupts``): one line, the partial
result written when ``--out`` was given, no worker process or worktree left behind.
"""

import argparse
import ast
import importlib
import math
import statistics
import sys
from pathlib import Path

from rnn_models.config import PHASES, TUTORIAL, TrainConfig
from rnn_models.data import SPLITS, TASKS
from rnn_models.machine import interrupts
from rnn_models.records.baselines import BASELINE_DIR, MIN_SEEDS
from rnn_models.registry import GENERIC_LOOP, MAX_UNROLLED_STEPS, REGISTRY, UNROLLED_LOOP, cell_names
from rnn_models.suite.options import add_options

EXIT_NONFINITE, EXIT_ERROR = 1, 2


def _cell_arg(text):
    """``key=value`` with a Python literal value (``use_peepholes=True``, ``num_proj=16``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word, e.g. activation=relu


def _int_at_least(minimum, expected):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "an integer >= 0")


def _finite_positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text}")
    return value


def _fraction(text):
    value = _finite_positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text}")
    return value


def _step(text):
    """``CELL:PHASE``, a gated step (``basic_lstm:train``)."""
    cell, _, phase = text.partition(":")
    if cell not in REGISTRY or phase not in PHASES:
        raise argparse.ArgumentTypeError(f"expected CELL:PHASE with a cell of {', '.join(REGISTRY)} and a "
                                         f"phase of {', '.join(PHASES)}, got {text!r}")
    return cell, phase


def _variant(text):
    from rnn_models.training.variants import check_variant

    try:
        check_variant(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _perturbation(text):
    """``CELL:VARIANT``; the variant is checked here, the cell against --cells by the command."""
    variant = text.partition(":")[2]
    if variant:
        _variant(variant)
    return text


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m rnn_models", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train and test one cell on sequential MNIST")
    train.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME",
                       help=f"one of: {', '.join(REGISTRY)}")
    train.add_argument("--epochs", type=_positive_int, default=TUTORIAL.epochs)
    train.add_argument("--lr", type=_finite_positive, default=TUTORIAL.learning_rate,
                       help="Adam learning rate")
    train.add_argument("--clip", type=_finite_positive, default=TUTORIAL.clip_norm,
                       help="global-norm clip (default: none)")
    train.add_argument("--check-numerics", action="store_true",
                       help="stop at the first non-finite gradient and name the variable")
    train.add_argument("--logdir", help="write TensorBoard scalars here")
    train.add_argument("--out", help="write the RunResult JSON here (a folder with several --seeds)")
    add_options(train.add_argument, "--data")
    train.add_argument("--task", choices=TASKS, default=TUTORIAL.task)
    train.add_argument("--split", choices=SPLITS, default=TUTORIAL.split)
    train.add_argument("--standardize", action="store_true", help="standardised pixels instead of [0, 1]")
    train.add_argument("--units", type=_positive_int, default=TUTORIAL.units)
    train.add_argument("--batch", type=_positive_int, default=TUTORIAL.batch_size)
    train.add_argument("--seeds", "--seed", type=_seed, nargs="+", default=[TUTORIAL.seed],
                       metavar="SEED", help="one run per seed; several report their mean and spread")
    train.add_argument("--steps-per-epoch", type=_positive_int, default=None,
                       help="cap on train steps per epoch")
    train.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                       help="XLA-compile the train and test steps (default: the registry's choice)")
    train.add_argument("--unroll", action=argparse.BooleanOptionalAction, default=None,
                       help=f"unroll the time loop (default: for at most {MAX_UNROLLED_STEPS} steps)")
    train.add_argument("--cell-arg", type=_cell_arg, action="append", default=[], metavar="KEY=VALUE",
                       help="a cell constructor argument, e.g. use_peepholes=True (repeatable)")
    train.add_argument("--quiet", action="store_true", help="no log lines or progress bar")
    train.add_argument("--device", default=None, metavar="CPU:N|GPU:N",
                       help="TensorFlow device of the run (default: GPU:0 when TensorFlow sees a GPU, "
                            "else CPU:0); a CPU run takes the numerics pin, a GPU run never does")

    commands.add_parser("cells", help="list the registered cells")

    profile = commands.add_parser(
        "profile", help="per-op time of one cell's compiled step, from a tf.profiler trace")
    profile.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME")
    profile.add_argument("--phase", choices=PHASES, default="train")
    profile.add_argument("--steps", type=_positive_int, default=20, help="profiled steps, after the warm-up")
    profile.add_argument("--top", type=_positive_int, default=15, help="op types to list")
    profile.add_argument("--logdir", default=None, help="keep the trace here (TensorBoard)")

    plot = commands.add_parser("plot", help="redraw the plots from stored results")
    add_options(plot.add_argument, "--baselines")
    plot.add_argument("--out", default=None, help="output folder (default: BASELINES/plots)")
    plot.add_argument("--results", nargs="*", default=[], help="RunResult JSON files to draw too")

    history = commands.add_parser("history", help="one offline HTML page of every cell's speed and "
                                                  "accuracy over the commits that changed the baselines")
    add_options(history.add_argument, "--baselines")
    history.add_argument("--out", required=True, help="folder for index.html and history.json")
    history.add_argument("--runs", nargs="*", default=[], metavar="FILE",
                         help="saved runs to add after the commits: pytest-benchmark JSON, RunResult "
                              "JSON, or a run page's data (--report's .json)")
    history.add_argument("--remote", default=None, metavar="URL",
                         help="the repository URL for commit links (default: the git remote's)")

    gate = commands.add_parser(
        "gate-check", help="measure the speed gate's false-alarm rate and power on this machine")
    gate.add_argument("--runs", type=_positive_int, default=20,
                      help="clean A/A runs of the whole gate, and runs per injected slowdown")
    gate.add_argument("--slowdown", type=_fraction, action="append", default=None,
                      help="a slowdown to inject, as a fraction (repeatable; default: the gate's target)")
    gate.add_argument("--inject", type=_step, action="append", default=None, metavar="CELL:PHASE",
                      help="a step to inject each slowdown into, one at a time (repeatable; default: "
                           "a train and an inference step)")
    gate.add_argument("--from", dest="samples_from", default=None, metavar="FILE",
                      help="measure nothing: derive the thresholds and replay the rates again from the "
                           "samples of a calibration FILE (after the derivation changed)")
    gate.add_argument("--pairs", type=_positive_int, default=None,
                      help="fresh worker pairs that take each A/B's units in turn (default: the gate's own)")
    add_options(gate.add_argument, "--cells", cells={"help": "the gated cells (default: every registry entry)"})
    gate.add_argument("--looks", type=_positive_int, nargs="+", default=None,
                      help="units (samples) at each sequential look")
    gate.add_argument("--block-ms", type=_finite_positive, default=None, help="target ms of one side's steps in a unit")
    gate.add_argument("--alpha", type=_fraction, default=None, help="false-alarm level of the whole gate")
    add_options(gate.add_argument, "--data")
    gate.add_argument("--out", default=None,
                      help=f"the calibration file (default: {BASELINE_DIR}/speed_gate/<this machine kind>.json)")

    trial = commands.add_parser(
        "gate-trial", help="run the whole speed gate A/A (or with an injected slowdown) on this "
                           "machine as CI would, with the thresholds it gets here")
    trial.add_argument("--runs", type=_positive_int, default=20)
    trial.add_argument("--load", action="store_true", help="a second job beside the gate")
    trial.add_argument("--slowdown", type=_fraction, default=0.0,
                       help="inject this slowdown into one step instead of an A/A")
    trial.add_argument("--inject-cell", choices=list(REGISTRY), default="basic_lstm", metavar="NAME")
    trial.add_argument("--inject-phase", choices=PHASES, default="train")
    add_options(trial.add_argument, "--cells", "--baselines", "--data",
                cells={"help": "the gated cells (default: every registry entry)"})
    trial.add_argument("--out", default=None,
                       help="the result file (default: BASELINES/speed_gate_uncalibrated.json)")

    reference = commands.add_parser(
        "add-reference", help="store this machine's seed-0 runs as references of their baselines "
                              "(a machine kind whose numerics differ; run at the recording commit)")
    add_options(reference.add_argument, "--cells", "--baselines", "--data")

    accuracy = commands.add_parser(
        "accuracy-check", help="measure the accuracy gate's false-fail rate and power on this machine")
    add_options(accuracy.add_argument, "--cells")
    accuracy.add_argument("--aa-variant", type=_variant, default="rounding",
                          help="the A/A change: same model, other float rounding (default: rounding)")
    accuracy.add_argument("--perturb", type=_perturbation, action="append", default=[],
                          metavar="CELL:VARIANT",
                          help="a change that lowers accuracy, e.g. lstm:adam_eps=5e-3 (repeatable)")
    accuracy.add_argument("--perturb-seeds", type=_positive_int, default=10,
                          help="seeds of each perturbation (default 10)")
    accuracy.add_argument("--no-pin", action="store_true",
                          help="train with this machine's own kernels, not the numerics pin: the "
                               "statistical path's A/A, as on a machine that cannot reproduce seed 0")
    accuracy.add_argument("--aa-from", default=None, metavar="REF",
                          help="train nothing: take the A/A samples from the seeds stored at git REF "
                               "(unpinned runs) and the perturbations from --perturbations-from")
    accuracy.add_argument("--replay", default=None, metavar="FILE",
                          help="train only the --perturb runs missing from --runs-dir: replay FILE's "
                               "samples (an earlier result) with them, under the current policies")
    accuracy.add_argument("--perturbations-from", default=str(BASELINE_DIR / "accuracy_gate.json"),
                          metavar="FILE", help="an earlier result file whose perturbation samples to replay")
    accuracy.add_argument("--tries", type=_positive_int, default=1000, help="resampled tries per rate")
    accuracy.add_argument("--runs-dir", default="runs", help="where the variants' runs are kept and reused")
    add_options(accuracy.add_argument, "--baselines", "--data")
    accuracy.add_argument("--out", default=None,
                          help=f"the result file (default: {BASELINE_DIR}/accuracy_gate.json)")
    add_options(accuracy.add_argument, "--ray-address")

    bisect = commands.add_parser(
        "bisect", help="find the commit that made a cell slower, changed its numerics or lowered its accuracy")
    bisect.add_argument("--good", required=True, metavar="REF", help="a commit without the regression")
    bisect.add_argument("--bad", required=True, metavar="REF", help="a later commit with it")
    add_options(bisect.add_argument, "--cells", cells={"required": True, "help": "the cells judged"})
    bisect.add_argument("--metric", choices=("speed", "numerics", "accuracy"), default="speed",
                        help="speed: the A/B gate; numerics: the pinned seed-0 run's bits; "
                             "accuracy: the accuracy gate's rule (default: speed)")
    bisect.add_argument("--phase", choices=PHASES, default=None, help="speed: the timed step (default: train)")
    bisect.add_argument("--device", default=None, help="speed: the device of the timed step (default: CPU:0)")
    bisect.add_argument("--rounds", type=_positive_int, default=None,
                        help="speed, accuracy: rounds of samples an inconclusive step may take "
                             "before its commit counts as inconclusive (default: 3)")
    bisect.add_argument("--worker-pairs", type=_positive_int, default=None,
                        help="speed: pairs of fresh worker processes that take each A/B's units in "
                             "turn, so one odd process moves only a share of them (default: 4)")
    bisect.add_argument("--steps", type=_positive_int, default=None,
                        help="numerics, accuracy: train steps per epoch (default: every batch)")
    bisect.add_argument("--epochs", type=_positive_int, default=None,
                        help="numerics, accuracy: epochs per run (default: 1 for numerics, the suite's for accuracy)")
    bisect.add_argument("--good-seeds", type=_int_at_least(MIN_SEEDS, f"an integer >= {MIN_SEEDS}"), default=None,
                        help="accuracy: the good commit's seeds, its distribution (default: 10)")
    bisect.add_argument("--repo", default=".", help="the git checkout to bisect (default: this folder)")
    add_options(bisect.add_argument, "--baselines", "--data")

    check = commands.add_parser(
        "bisect-check", help="measure how often and how fast the speed bisect names a real slowdown")
    check.add_argument("--repeats", type=_positive_int, default=20, help="bisects of the same history")
    check.add_argument("--commits", type=_positive_int, default=8, help="commits after the good one")
    check.add_argument("--position", type=_positive_int, default=5, help="the slow commit's place (1 to --commits)")
    check.add_argument("--slowdown", type=_fraction, default=0.15, help="the real slowdown to tune, as a fraction")
    check.add_argument("--tolerance", type=_fraction, default=0.02, help="how near the tuned ratio must come")
    check.add_argument("--tune-tries", type=_positive_int, default=4, help="A/Bs to tune the slowdown with, at most")
    check.add_argument("--worker-pairs", type=_positive_int, default=None,
                       help="the bisect's --worker-pairs, also the tuning A/B's (default: the bisect's, 4)")
    add_options(check.add_argument, "--baselines", "--data")
    check.add_argument("--aa", action="store_true",
                       help="no slowdown in the history: how often a bisect of it names a commit (false alarms)")
    check.add_argument("--out", default=None,
                       help="the result file (default: baselines/bisect_check.json, with --aa bisect_check_aa.json)")

    on_device = commands.add_parser(
        "accuracy-on-device", help="a cell's suite run on another device (a GPU) against its stored CPU "
                                   "seeds: seed 0 identical or not, and the statistical path's verdict")
    on_device.add_argument("--cell", required=True, choices=cell_names(tutorial_only=True), metavar="NAME",
                           help=f"one of: {', '.join(cell_names(tutorial_only=True))}")
    on_device.add_argument("--device", default="GPU:0", metavar="CPU:N|GPU:N",
                           help="where the runs train (default: GPU:0); the training pool's workers "
                                "take their default device, which must be this one")
    on_device.add_argument("--processes", type=_positive_int, default=None,
                           help="worker processes (default: the cell's largest look of seeds)")
    add_options(on_device.add_argument, "--baselines", "--data")
    on_device.add_argument("--out", default=None, help="write the record as JSON here")

    report = commands.add_parser(
        "gpu-report", help="gather tools/gpu_check.sh's results into baselines/gpu/<device>.json "
                           "and docs/gpu.md's table")
    report.add_argument("--results", required=True, metavar="DIR", help="the script's results folder")
    report.add_argument("--out", default=str(BASELINE_DIR / "gpu"), metavar="DIR",
                        help=f"where <device slug>.json goes (default: {BASELINE_DIR / 'gpu'})")
    report.add_argument("--docs", default="docs/gpu.md", metavar="FILE",
                        help="the page whose generated part is filled (default: docs/gpu.md)")
    report.add_argument("--docs-out", default=None, metavar="FILE",
                        help="write the filled page here instead of over --docs")
    return parser


# --- train --------------------------------------------------------------------------


def _train_configs(args):
    base = dict(cell=args.cell, cell_kwargs=dict(args.cell_arg), epochs=args.epochs,
                learning_rate=args.lr, clip_norm=args.clip, check_numerics=args.check_numerics,
                task=args.task, split=args.split, standardize=args.standardize, units=args.units,
                batch_size=args.batch, steps_per_epoch=args.steps_per_epoch,
                jit_compile=args.xla, unroll=args.unroll)
    seeds = list(dict.fromkeys(args.seeds))  # a seed given twice trains once, and the user is told
    repeated = sorted({s for s in args.seeds if args.seeds.count(s) > 1})
    if repeated:
        print(f"rnn_models train: --seeds gives {', '.join(map(str, repeated))} more than once; "
              f"training each seed once: {' '.join(map(str, seeds))}", file=sys.stderr)
    return [TrainConfig(**base, seed=seed) for seed in seeds]


def _out_paths(args, configs):
    from rnn_models.records.paths import check_output_dir, check_output_file

    if not args.out:
        return [None] * len(configs)
    if len(configs) == 1:
        return [check_output_file(args.out, "--out")]
    folder = check_output_dir(args.out, "--out (a folder, with several seeds)")
    return [folder / f"{c.cell}_seed{c.seed}.json" for c in configs]


def _train(args):
    from rnn_models.machine import numerics_pin

    if "tensorflow" not in sys.modules:  # in-process callers that loaded it keep its kernels
        numerics_pin.apply(device=args.device)  # before TensorFlow loads; CPU runs only
    from rnn_models.data import load_mnist
    from rnn_models.machine.environment import check_device
    from rnn_models.records.paths import check_output_dir
    from rnn_models.training.progress import ConsoleProgress
    from rnn_models.training.train import NonFiniteGradientError, RunInterrupted, prepare_for, train_and_evaluate

    configs = _train_configs(args)
    outs = _out_paths(args, configs)
    device = check_device(args.device) if args.device else None
    if args.logdir:
        check_output_dir(args.logdir, "--logdir")
    get_cell_check(configs[0])
    data = prepare_for(configs[0], load_mnist(args.data))
    progress = ConsoleProgress(enabled=not args.quiet)
    results, status = [], 0
    for config, out in zip(configs, outs):
        logdir = args.logdir if len(configs) == 1 or not args.logdir else str(Path(args.logdir) / f"seed{config.seed}")
        saved = f", result in {out}" if out else ""
        try:
            result = train_and_evaluate(config, data, device=device, logdir=logdir, progress=progress)
        except NonFiniteGradientError as err:
            result = err.result
        except RunInterrupted as interrupt:
            if out:
                interrupt.result.save(out)
            print(f"rnn_models train: {config.cell} seed {config.seed} {interrupt} ({interrupts.describe()}){saved} "
                  "(marked interrupted)", file=sys.stderr)
            return interrupts.exit_code()
        if out:
            result.save(out)
        if result.nonfinite is not None:
            print(f"{config.cell} seed {config.seed}: stopped at step {result.nonfinite.step} on a "
                  f"non-finite loss/gradient{saved}", file=sys.stderr)
            status = EXIT_NONFINITE
            continue
        results.append(result)
        print(f"{config.cell} seed {config.seed}: test accuracy {result.final_test.accuracy_mean:.4f}, "
              f"train {result.train_sec_per_iter * 1e3:.2f} ms/step on {result.device}, "
              f"wall {result.wall_time_s:.1f} s{saved}")
    if len(configs) > 1 and results:
        accuracies = [r.final_test.accuracy_mean for r in results]
        spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        print(f"{args.cell} over {len(results)} seeds: test accuracy mean {statistics.mean(accuracies):.4f}, "
              f"sd {spread:.4f}, min {min(accuracies):.4f}, max {max(accuracies):.4f}")
    return status


def get_cell_check(config):
    """Builds the cell once, unattached, so a bad argument value (a range the declared
    argument kinds cannot see) is reported before any training."""
    from rnn_models.registry import get_cell

    try:
        get_cell(config.cell, config.units, **config.cell_kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"--cell-arg: {' '.join(str(err).split())}") from None


# --- the other commands -------------------------------------------------------------


def _profile(args):
    import numpy as np

    from rnn_models.data import task_shape
    from rnn_models.machine.environment import default_device
    from rnn_models.records.paths import check_output_dir
    from rnn_models.speed.measure import build_step
    from rnn_models.speed.profile import format_profile, profile_step
    from rnn_models.suite.matrix import speed_config

    if args.logdir:
        check_output_dir(args.logdir, "--logdir")
    config = speed_config(args.cell)
    rng = np.random.default_rng(config.seed)  # timing does not depend on the pixel values
    x = rng.uniform(size=(config.batch_size, *task_shape(config.task))).astype(np.float32)
    y = rng.integers(0, 10, config.batch_size).astype(np.int32)
    step = build_step(args.cell, args.phase, default_device(), x, y)
    profile = profile_step(step.run, args.steps, args.logdir)
    print(f"{args.cell} {args.phase} step, {config.batch_size} x {task_shape(config.task)}")
    print(format_profile(profile, args.top))
    return 0


def _list_cells(_args):
    for spec in REGISTRY.values():
        origin = f"tf.contrib.rnn.{spec.tf1_name}" if spec.faithful else "Keras' own layer"
        path = spec.kernel_path
        if path == GENERIC_LOOP and spec.prefers_unroll:
            path = f"{UNROLLED_LOOP} up to {MAX_UNROLLED_STEPS} steps"
        if spec.prefers_xla:
            path += " (XLA)"
        print(f"{spec.name:18} {origin:40} {path}")


def _plot(args):
    from rnn_models.plots import plot_all
    from rnn_models.records.atomic import recover
    from rnn_models.records.paths import check_input_dir, check_output_dir
    from rnn_models.records.results import RunResult

    baselines = check_input_dir(args.baselines, "--baselines")
    out = check_output_dir(args.out or baselines / "plots", "--out")
    results = {r.cell: r for r in map(RunResult.load, args.results)}
    recover(baselines)
    written = plot_all(baselines, out, results=results or None)
    if not written:
        raise ValueError(f"--baselines {baselines}: no baseline, speed run or result to draw")
    for path in written:
        print(path)


# The commands that live in their own modules, imported only when run (no TensorFlow before).
ELSEWHERE = {"gate-check": "rnn_models.selfcheck.gate_check:calibrate_cli",
             "gate-trial": "rnn_models.selfcheck.gate_trial:trial_cli",
             "accuracy-check": "rnn_models.selfcheck.accuracy_check:check_cli",
             "add-reference": "rnn_models.records.references:add_references_cli",
             "bisect": "rnn_models.bisect.command:bisect_cli",
             "bisect-check": "rnn_models.selfcheck.bisect_check:check_cli",
             "accuracy-on-device": "rnn_models.regression.device_accuracy:check_cli",
             "gpu-report": "rnn_models.records.gpu_report:report_cli",
             "history": "rnn_models.history.command:history_cli"}
COMMANDS = {"train": _train, "cells": _list_cells, "plot": _plot, "profile": _profile}


def _command(name):
    if name in COMMANDS:
        return COMMANDS[name]
    module, _, function = ELSEWHERE[name].partition(":")
    return getattr(importlib.import_module(module), function)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        with interrupts.handle_stop_signals():
            try:
                return _command(args.command)(args) or 0
            except KeyboardInterrupt:
                print(f"rnn_models {args.command}: interrupted ({interrupts.describe()})", file=sys.stderr)
                return interrupts.exit_code()
    except (ValueError, OSError, FloatingPointError, TypeError, RuntimeError) as err:
        message = " ".join(str(err).split())  # one line, however the library wrapped it
        print(f"rnn_models {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
