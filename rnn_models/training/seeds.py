"""One config trained over several seeds, one run after another in this process
(``python -m rnn_models train --seeds ...``): each run's result written as it ends, its
TensorBoard scalars in a folder of its own, and the seeds' mean and spread at the end."""

import dataclasses
import statistics
import sys
from pathlib import Path


@dataclasses.dataclass
class SeedRuns:
    """What ``train_seeds`` trained: the finished runs, and those stopped at a non-finite
    loss or gradient (their results are written all the same)."""

    results: list
    nonfinite: list


def check_cell_arguments(config):
    """Builds the cell once, unattached, so a bad argument value (a range the declared
    argument kinds cannot see) is reported before any training."""
    from rnn_models.registry import get_cell

    try:
        get_cell(config.cell, config.units, **config.cell_kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"--cell-arg: {' '.join(str(err).split())}") from None


def seed_logdir(logdir, config, several):
    """Where one run's TensorBoard scalars go: ``logdir`` itself, or ``logdir/seed<S>`` when
    ``several`` runs share it."""
    return str(Path(logdir) / f"seed{config.seed}") if logdir and several else logdir


def _warn(line):
    print(line, file=sys.stderr)


def train_seeds(configs, outs, *, data_path=None, device=None, logdir=None, quiet=False, log=print,
                warn=_warn):
    """Trains each of ``configs`` (one cell, a seed each) and saves its RunResult to the
    matching ``outs`` path (None: not saved). ``device`` None is TensorFlow's default; a CPU
    run takes the numerics pin when TensorFlow is not loaded yet. The device, ``logdir`` and
    the cell's arguments are checked before the data is loaded. On Ctrl-C the run so far is
    saved, marked interrupted, and ``RunInterrupted`` raised. Returns a ``SeedRuns``."""
    from rnn_models.machine import numerics_pin

    if "tensorflow" not in sys.modules:  # in-process callers that loaded it keep its kernels
        numerics_pin.apply(device=device)  # before TensorFlow loads; CPU runs only
    from rnn_models.data import load_mnist
    from rnn_models.machine.environment import check_device
    from rnn_models.records.paths import check_output_dir
    from rnn_models.training.progress import ConsoleProgress
    from rnn_models.training.train import NonFiniteGradientError, RunInterrupted, prepare_for, train_and_evaluate

    device = check_device(device) if device else None
    if logdir:
        check_output_dir(logdir, "--logdir")
    check_cell_arguments(configs[0])
    data = prepare_for(configs[0], load_mnist(data_path))
    progress = ConsoleProgress(enabled=not quiet)
    runs = SeedRuns(results=[], nonfinite=[])
    for config, out in zip(configs, outs):
        saved = f", result in {out}" if out else ""
        try:
            result = train_and_evaluate(config, data, device=device, logdir=seed_logdir(logdir, config, len(configs) > 1),
                                        progress=progress)
        except NonFiniteGradientError as err:
            result = err.result
        except RunInterrupted as interrupt:
            if out:
                interrupt.result.save(out)
            raise
        if out:
            result.save(out)
        if result.nonfinite is not None:
            warn(f"{config.cell} seed {config.seed}: stopped at step {result.nonfinite.step} on a "
                 f"non-finite loss/gradient{saved}")
            runs.nonfinite.append(result)
            continue
        runs.results.append(result)
        log(f"{config.cell} seed {config.seed}: test accuracy {result.final_test.accuracy_mean:.4f}, "
            f"train {result.train_sec_per_iter * 1e3:.2f} ms/step on {result.device}, "
            f"wall {result.wall_time_s:.1f} s{saved}")
    if len(configs) > 1 and runs.results:
        accuracies = [r.final_test.accuracy_mean for r in runs.results]
        spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        log(f"{configs[0].cell} over {len(runs.results)} seeds: test accuracy mean "
            f"{statistics.mean(accuracies):.4f}, sd {spread:.4f}, min {min(accuracies):.4f}, max {max(accuracies):.4f}")
    return runs
