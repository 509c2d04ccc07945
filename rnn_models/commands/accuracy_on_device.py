"""``accuracy-on-device``: a cell's suite run on another device (a GPU) against its stored CPU
seeds (``rnn_models.regression.device_accuracy``); exit 1 when the gate would fail it."""

from rnn_models.commands.arguments import positive_int
from rnn_models.registry import cell_names
from rnn_models.suite.options import add_options

NAME = "accuracy-on-device"
HELP = ("a cell's suite run on another device (a GPU) against its stored CPU "
        "seeds: seed 0 identical or not, and the statistical path's verdict")
DEFAULT_DEVICE = "GPU:0"


def add_arguments(parser):
    parser.add_argument("--cell", required=True, choices=cell_names(tutorial_only=True), metavar="NAME",
                        help=f"one of: {', '.join(cell_names(tutorial_only=True))}")
    parser.add_argument("--device", default=DEFAULT_DEVICE, metavar="CPU:N|GPU:N",
                        help="where the runs train (default: %(default)s); the training pool's workers "
                             "take their default device, which must be this one")
    parser.add_argument("--processes", type=positive_int, default=None,
                        help="worker processes (default: the cell's largest look of seeds)")
    add_options(parser.add_argument, "--baselines", "--data")
    parser.add_argument("--out", default=None, help="write the record as JSON here")


def run(*, cell: str, device: str, processes: int | None, baselines: str, data: str | None,
        out: str | None) -> int:
    import json

    from rnn_models.machine.environment import check_device
    from rnn_models.records.atomic import write_bytes_atomic
    from rnn_models.records.paths import check_output_file
    from rnn_models.regression.device_accuracy import check_on_device

    out = check_output_file(out, "--out") if out else None
    device = check_device(device)
    record = check_on_device(cell, device, baselines, data, processes)
    if out:
        write_bytes_atomic(out, (json.dumps(record.to_dict(), indent=2) + "\n").encode())
    print(record.table)
    same = "identical to the stored seed-0 run" if record.identical_to_cpu else \
        f"not identical to the stored seed-0 run ({record.first_difference})"
    print(f"{cell} seed 0 on {record.device}: {same}; statistical path: {record.verdict}, "
          f"{record.detail} ({'as expected' if record.judged_correctly else 'a false alarm'})")
    return 0 if record.judged_correctly else 1
