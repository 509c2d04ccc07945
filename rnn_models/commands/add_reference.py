"""``add-reference``: this machine's seed-0 runs stored as references of their baselines
(``rnn_models.records.references``), for a machine kind whose numerics differ; each is trained
by the code that recorded the cell's seeds."""

from rnn_models.suite.options import add_options

NAME = "add-reference"
HELP = ("store this machine's seed-0 runs as references of their baselines "
        "(a machine kind whose numerics differ; trained by the code that recorded the seeds)")


def add_arguments(parser):
    add_options(parser.add_argument, "--cells", "--baselines", "--data")


def run(*, cells: list[str] | None, baselines: str, data: str | None) -> int:
    from rnn_models.executors import TrainingPool
    from rnn_models.records.atomic import lock_for_update
    from rnn_models.records.references import add_references
    from rnn_models.suite.matrix import matrix_cells

    cells = cells or matrix_cells()
    lock = lock_for_update(baselines)
    try:
        with TrainingPool(data_path=data) as pool:
            add_references(cells, baselines,
                           lambda commit, configs: pool.run(configs) if commit is None
                           else train_at(commit, configs, data))
    finally:
        lock.release()
    return 0


def train_at(commit, configs, data=None):
    """``configs``' runs trained by ``commit``'s code, in a worktree of this checkout, under the
    numerics pin; each labelled with this machine's numerics key (an older commit's runs carry
    its own form of the key)."""
    import dataclasses
    import tempfile

    from rnn_models import git
    from rnn_models.bisect.runs import train_seeds
    from rnn_models.machine import numerics_pin
    from rnn_models.machine.environment import versions
    from rnn_models.speed import worktree

    key = numerics_pin.numerics_key(versions(), env=numerics_pin.pinned_env())
    with worktree.checkout(git.SOURCE_ROOT, commit) as root, tempfile.TemporaryDirectory() as out:
        runs = [train_seeds(root, config, [config.seed], out, data)[0] for config in configs]
    return [dataclasses.replace(run, fingerprint={**(run.fingerprint or {}), "numerics": key}) for run in runs]
