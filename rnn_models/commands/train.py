"""``train``: one cell trained and tested on sequential MNIST, as the tutorial did, over one
seed or several (``rnn_models.training.seeds``)."""

import argparse
import sys

from rnn_models.commands.arguments import cell_arg, finite_positive, positive_int, seed
from rnn_models.config import TUTORIAL, TrainConfig
from rnn_models.data import SPLITS, TASKS
from rnn_models.machine import interrupts
from rnn_models.registry import MAX_UNROLLED_STEPS, REGISTRY
from rnn_models.suite.options import add_options

NAME = "train"
HELP = "train and test one cell on sequential MNIST"
EXIT_NONFINITE = 1


def add_arguments(parser):
    parser.add_argument("--cell", required=True, choices=list(REGISTRY), metavar="NAME",
                        help=f"one of: {', '.join(REGISTRY)}")
    parser.add_argument("--epochs", type=positive_int, default=TUTORIAL.epochs)
    parser.add_argument("--lr", type=finite_positive, default=TUTORIAL.learning_rate,
                        help="Adam learning rate")
    parser.add_argument("--clip", type=finite_positive, default=TUTORIAL.clip_norm,
                        help=f"global-norm clip (default: {'none' if TUTORIAL.clip_norm is None else TUTORIAL.clip_norm})")
    parser.add_argument("--check-numerics", action="store_true",
                        help="stop at the first non-finite gradient and name the variable")
    parser.add_argument("--logdir", help="write TensorBoard scalars here")
    parser.add_argument("--out", help="write the RunResult JSON here (a folder with several --seeds)")
    add_options(parser.add_argument, "--data")
    parser.add_argument("--task", choices=TASKS, default=TUTORIAL.task)
    parser.add_argument("--split", choices=SPLITS, default=TUTORIAL.split)
    parser.add_argument("--standardize", action="store_true", help="standardised pixels instead of [0, 1]")
    parser.add_argument("--units", type=positive_int, default=TUTORIAL.units)
    parser.add_argument("--batch", type=positive_int, default=TUTORIAL.batch_size)
    parser.add_argument("--seeds", "--seed", type=seed, nargs="+", default=[TUTORIAL.seed],
                        metavar="SEED", help="one run per seed; several report their mean and spread")
    parser.add_argument("--steps-per-epoch", type=positive_int, default=None,
                        help="cap on train steps per epoch")
    parser.add_argument("--test-steps", type=positive_int, default=None,
                        help="cap on test batches per epoch (default: the whole test split)")
    parser.add_argument("--xla", action=argparse.BooleanOptionalAction, default=None,
                        help="XLA-compile the train and test steps (default: the registry's choice)")
    parser.add_argument("--unroll", action=argparse.BooleanOptionalAction, default=None,
                        help=f"unroll the time loop (default: for at most {MAX_UNROLLED_STEPS} steps)")
    parser.add_argument("--cell-arg", type=cell_arg, action="append", default=[], metavar="KEY=VALUE",
                        help="a cell constructor argument, e.g. use_peepholes=True (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no log lines or progress bar")
    parser.add_argument("--device", default=None, metavar="CPU:N|GPU:N",
                        help="TensorFlow device of the run (default: GPU:0 when TensorFlow sees a GPU, "
                             "else CPU:0); a CPU run takes the numerics pin, a GPU run never does")


def seed_configs(base, seeds):
    """``base`` once per seed; a seed given twice trains once, and the user is told."""
    unique = list(dict.fromkeys(seeds))
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        print(f"rnn_models train: --seeds gives {', '.join(map(str, repeated))} more than once; "
              f"training each seed once: {' '.join(map(str, unique))}", file=sys.stderr)
    return [base.replace(seed=s) for s in unique]


def out_paths(out, configs):
    """Each run's result file: ``out`` itself for one seed, ``out/<cell>_seed<S>.json`` for several."""
    from rnn_models.records.paths import check_output_dir, check_output_file

    if not out:
        return [None] * len(configs)
    if len(configs) == 1:
        return [check_output_file(out, "--out")]
    folder = check_output_dir(out, "--out (a folder, with several seeds)")
    return [folder / f"{c.cell}_seed{c.seed}.json" for c in configs]


def run(*, cell: str, epochs: int, lr: float, clip: float | None, check_numerics: bool, logdir: str | None,
        out: str | None, data: str | None, task: str, split: str, standardize: bool, units: int, batch: int,
        seeds: list[int], steps_per_epoch: int | None, test_steps: int | None, xla: bool | None, unroll: bool | None,
        cell_arg: list[tuple[str, object]], quiet: bool, device: str | None) -> int:
    from rnn_models.training.seeds import train_seeds

    base = TrainConfig(cell=cell, cell_kwargs=dict(cell_arg), epochs=epochs, learning_rate=lr, clip_norm=clip,
                       check_numerics=check_numerics, task=task, split=split, standardize=standardize,
                       units=units, batch_size=batch, steps_per_epoch=steps_per_epoch, test_steps=test_steps,
                       jit_compile=xla, unroll=unroll, seed=seeds[0])
    configs = seed_configs(base, seeds)
    outs = out_paths(out, configs)
    try:
        runs = train_seeds(configs, outs, data_path=data, device=device, logdir=logdir, quiet=quiet)
    except KeyboardInterrupt as interrupt:
        # Imported only now: before the run it would load TensorFlow ahead of the numerics pin.
        from rnn_models.training.train import RunInterrupted

        if not isinstance(interrupt, RunInterrupted):
            raise
        config = interrupt.result.config
        path = dict(zip((c.seed for c in configs), outs))[config.seed]
        saved = f", result in {path}" if path else ""
        print(f"rnn_models train: {config.cell} seed {config.seed} {interrupt} ({interrupts.describe()}){saved} "
              "(marked interrupted)", file=sys.stderr)
        return interrupts.exit_code()
    return EXIT_NONFINITE if runs.nonfinite else 0
