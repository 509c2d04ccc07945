"""``python -m rnn_models``: train a cell as the tutorial did, list cells, redraw plots.

The CLI only parses arguments; the work is ``rnn_models``' library calls. Exit codes:
0 done; 1 a run stopped on a non-finite loss or gradient (its result is still written);
2 an error, reported on one line of stderr.
"""

import argparse
import ast
import sys

from rnn_models.config import TUTORIAL
from rnn_models.data import SPLITS, TASKS
from rnn_models.registry import GENERIC_LOOP, MAX_UNROLLED_STEPS, REGISTRY, UNROLLED_LOOP
from rnn_models.steps import PHASES


def _cell_arg(text):
    """``key=value`` with a Python literal value (``use_peepholes=True``, ``num_proj=16``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word, e.g. activation=relu


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m rnn_models", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train and test one cell on sequential MNIST")
    train.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME",
                       help=f"one of: {', '.join(REGISTRY)}")
    train.add_argument("--epochs", type=int, default=TUTORIAL.epochs)
    train.add_argument("--lr", type=float, default=TUTORIAL.learning_rate, help="Adam learning rate")
    train.add_argument("--clip", type=float, default=TUTORIAL.clip_norm, help="global-norm clip")
    train.add_argument("--check-numerics", action="store_true",
                       help="stop at the first non-finite gradient and name the variable")
    train.add_argument("--logdir", help="write TensorBoard scalars here")
    train.add_argument("--out", help="write the RunResult JSON here")
    train.add_argument("--data", help="MNIST file or folder (default: $RNN_MODELS_MNIST, Keras' cache, download)")
    train.add_argument("--task", choices=TASKS, default=TUTORIAL.task)
    train.add_argument("--split", choices=SPLITS, default=TUTORIAL.split)
    train.add_argument("--standardize", action="store_true", help="standardised pixels instead of [0, 1]")
    train.add_argument("--units", type=int, default=TUTORIAL.units)
    train.add_argument("--batch", type=int, default=TUTORIAL.batch_size)
    train.add_argument("--seed", type=int, default=TUTORIAL.seed)
    train.add_argument("--steps-per-epoch", type=int, default=None, help="cap on train steps per epoch")
    train.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                       help="XLA-compile the train and test steps (default: the registry's choice)")
    train.add_argument("--unroll", action=argparse.BooleanOptionalAction, default=None,
                       help=f"unroll the time loop (default: for at most {MAX_UNROLLED_STEPS} steps)")
    train.add_argument("--cell-arg", type=_cell_arg, action="append", default=[], metavar="KEY=VALUE",
                       help="a cell constructor argument, e.g. use_peepholes=True (repeatable)")
    train.add_argument("--quiet", action="store_true", help="no log lines or progress bar")

    commands.add_parser("cells", help="list the registered cells")

    margins = commands.add_parser(
        "margins", help="measure the accuracy/loss margins from seeded runs of the suite matrix")
    margins.add_argument("--cells", nargs="*", default=None, help="default: the tutorial's five")
    margins.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    margins.add_argument("--epochs", type=int, default=TUTORIAL.epochs)
    margins.add_argument("--data", help="MNIST file or folder")
    margins.add_argument("--baselines", default="baselines", help="where margins.json goes")
    margins.add_argument("--runs", default=None, help="also keep every RunResult JSON here")

    profile = commands.add_parser(
        "profile", help="per-op time of one cell's compiled step, from a tf.profiler trace")
    profile.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME")
    profile.add_argument("--phase", choices=PHASES, default="train")
    profile.add_argument("--steps", type=int, default=20, help="profiled steps, after 5 warm-up")
    profile.add_argument("--top", type=int, default=15, help="op types to list")
    profile.add_argument("--logdir", default=None, help="keep the trace here (TensorBoard)")

    plot = commands.add_parser("plot", help="redraw the plots from stored results")
    plot.add_argument("--baselines", default="baselines", help="baseline folder (default: baselines)")
    plot.add_argument("--out", default=None, help="output folder (default: BASELINES/plots)")
    plot.add_argument("--results", nargs="*", default=[], help="RunResult JSON files to draw too")
    return parser


def _train(args):
    from rnn_models.progress import ConsoleProgress
    from rnn_models.train import train_and_evaluate

    config = TUTORIAL.replace(
        cell=args.cell, cell_kwargs=dict(args.cell_arg), epochs=args.epochs,
        learning_rate=args.lr, clip_norm=args.clip, check_numerics=args.check_numerics,
        task=args.task, split=args.split, standardize=args.standardize, units=args.units,
        batch_size=args.batch, seed=args.seed, steps_per_epoch=args.steps_per_epoch,
        jit_compile=args.xla, unroll=args.unroll,
    )
    result = train_and_evaluate(config, data_path=args.data, logdir=args.logdir,
                                progress=ConsoleProgress(enabled=not args.quiet))
    if args.out:
        result.save(args.out)
    saved = f", result in {args.out}" if args.out else ""
    if result.nonfinite is not None:
        print(f"{config.cell}: stopped at step {result.nonfinite.step} on a non-finite "
              f"loss/gradient{saved}", file=sys.stderr)
        return 1
    print(f"{config.cell}: test accuracy {result.final_test.accuracy_mean:.4f}, train "
          f"{result.train_sec_per_iter * 1e3:.2f} ms/step, wall {result.wall_time_s:.1f} s{saved}")
    return 0


def _profile(args):
    import keras
    import numpy as np

    from rnn_models.data import task_shape
    from rnn_models.model import build_model
    from rnn_models.profile import format_profile, profile_step
    from rnn_models.steps import make_step
    from rnn_models.suite import speed_config

    config = speed_config(args.cell)
    keras.utils.set_random_seed(config.seed)
    step = make_step(build_model(config), config, args.phase)
    rng = np.random.default_rng(config.seed)  # timing does not depend on the pixel values
    x = rng.uniform(size=(config.batch_size, *task_shape(config.task))).astype(np.float32)
    y = rng.integers(0, 10, config.batch_size).astype(np.int32)
    for _ in range(5):  # the first call traces and compiles
        float(step(x, y)[0])
    profile = profile_step(lambda: float(step(x, y)[0]), args.steps, args.logdir)
    print(f"{args.cell} {args.phase} step, {config.batch_size} x {task_shape(config.task)}")
    print(format_profile(profile, args.top))
    return 0


def _margins(args):
    from pathlib import Path

    from rnn_models.data import load_mnist
    from rnn_models.progress import ConsoleProgress
    from rnn_models.baseline import save_margins
    from rnn_models.suite import matrix_cells, matrix_config, measured_margins
    from rnn_models.train import prepare_for, train_and_evaluate

    mnist = load_mnist(args.data)
    for cell in args.cells or matrix_cells():
        config = matrix_config(cell, args.epochs)
        data = prepare_for(config, mnist)
        runs = []
        for seed in args.seeds:
            run = train_and_evaluate(config.replace(seed=seed), data,
                                     progress=ConsoleProgress(bar=False))
            if args.runs:
                run.save(Path(args.runs) / f"{cell}_seed{seed}.json")
            runs.append(run)
        path = save_margins(args.baselines, {cell: measured_margins(runs)})
        print(f"{cell}: margins written to {path}")


def _cells(_args):
    for spec in REGISTRY.values():
        origin = f"tf.contrib.rnn.{spec.tf1_name}" if spec.faithful else "Keras' own layer"
        path = spec.kernel_path
        if path == GENERIC_LOOP and spec.prefers_unroll:
            path = f"{UNROLLED_LOOP} up to {MAX_UNROLLED_STEPS} steps"
        if spec.prefers_xla:
            path += " (XLA)"
        print(f"{spec.name:18} {origin:40} {path}")


def _plot(args):
    from pathlib import Path

    from rnn_models.plots import plot_all
    from rnn_models.results import RunResult

    results = {r.cell: r for r in map(RunResult.load, args.results)}
    out = args.out or str(Path(args.baselines) / "plots")
    for path in plot_all(args.baselines, out, results=results or None):
        print(path)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return {"train": _train, "cells": _cells, "margins": _margins, "plot": _plot,
                "profile": _profile}[args.command](args) or 0
    except (ValueError, FileNotFoundError, FloatingPointError, TypeError) as err:
        message = " ".join(str(err).split())  # one line, however the library wrapped it
        print(f"rnn_models {args.command}: error: {message}", file=sys.stderr)
        return 2
