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
    from rnn_models.records.references import add_references

    return train_into_baselines(add_references, cells, baselines, data)


def train_into_baselines(add, cells, baselines, data):
    """``add(cells, baselines, train)`` under the baselines' update lock, ``train`` being the
    training pool for this checkout's code or a worktree of the recording commit's; either
    stops a run many times the stored seeds' wall time."""
    from rnn_models.executors import TrainingPool
    from rnn_models.records.atomic import lock_for_update
    from rnn_models.records.references import train_at
    from rnn_models.suite.matrix import matrix_cells
    from rnn_models.suite.stored_inputs import expected_run_seconds

    expected = expected_run_seconds(baselines)  # a run many times the stored seeds' time is stuck
    lock = lock_for_update(baselines)
    try:
        with TrainingPool(data_path=data, expected_s=expected) as pool:
            add(cells or matrix_cells(), baselines,
                lambda commit, configs: pool.run(configs) if commit is None
                else train_at(commit, configs, data, expected_s=expected))
    finally:
        lock.release()
    return 0
