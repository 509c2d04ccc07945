"""``add-seeds``: the seeds a cell's stored distribution lacks, up to the registry's count
(``baseline_seeds``), trained by the code that recorded the stored ones and added to its
baseline (``rnn_models.records.references``)."""

from rnn_models.commands import add_reference
from rnn_models.commands.add_reference import train_into_baselines

NAME = "add-seeds"
HELP = ("train the seeds a cell's stored distribution lacks, up to the registry's count, with the "
        "code that recorded the others, and add them")
add_arguments = add_reference.add_arguments  # the same three: --cells, --baselines, --data


def run(*, cells: list[str] | None, baselines: str, data: str | None) -> int:
    from rnn_models.records.references import add_seeds

    return train_into_baselines(add_seeds, cells, baselines, data)
