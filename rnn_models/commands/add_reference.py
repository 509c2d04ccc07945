"""``add-reference``: this machine's seed-0 runs stored as references of their baselines
(``rnn_models.records.references``), for a machine kind whose numerics differ."""

from rnn_models.suite.options import add_options

NAME = "add-reference"
HELP = ("store this machine's seed-0 runs as references of their baselines "
        "(a machine kind whose numerics differ; run at the recording commit)")


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
            add_references(cells, baselines, pool.run)
    finally:
        lock.release()
    return 0
