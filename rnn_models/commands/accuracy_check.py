"""``accuracy-check``: the accuracy gate measures its false-fail rate and power on this machine
(``rnn_models.selfcheck.accuracy_check``): trains the variants' missing runs, replays the gate
over them, stores the rates and prints them one line per cell."""

from rnn_models.commands.arguments import perturbation, positive_int, variant
from rnn_models.records.baselines import BASELINE_DIR
from rnn_models.selfcheck.accuracy_check import RESULT_FILE  # in BASELINE_DIR
from rnn_models.suite.options import add_options

NAME = "accuracy-check"
HELP = "measure the accuracy gate's false-fail rate and power on this machine"


def add_arguments(parser):
    add_options(parser.add_argument, "--cells")
    parser.add_argument("--aa-variant", type=variant, default="rounding",
                        help="the A/A change: same model, other float rounding (default: %(default)s)")
    parser.add_argument("--perturb", type=perturbation, action="append", default=[],
                        metavar="CELL:VARIANT",
                        help="a change that lowers accuracy, e.g. lstm:adam_eps=5e-3 (repeatable)")
    parser.add_argument("--perturb-seeds", type=positive_int, default=10,
                        help="seeds of each perturbation (default %(default)s)")
    parser.add_argument("--no-pin", action="store_true",
                        help="train with this machine's own kernels, not the numerics pin: the "
                             "statistical path's A/A, as on a machine that cannot reproduce seed 0")
    parser.add_argument("--aa-from", default=None, metavar="REF",
                        help="train nothing: take the A/A samples from the seeds stored at git REF "
                             "(unpinned runs) and the perturbations from --perturbations-from")
    parser.add_argument("--replay", default=None, metavar="FILE",
                        help="train only the --perturb runs missing from --runs-dir (and the A/A of a "
                             "cell whose stored A/A is too small for its looks): replay FILE's "
                             "samples (an earlier result) with them, under the current policies")
    parser.add_argument("--perturbations-from", default=str(BASELINE_DIR / RESULT_FILE),
                        metavar="FILE", help="an earlier result file whose perturbation samples to replay")
    parser.add_argument("--tries", type=positive_int, default=1000, help="resampled tries per rate")
    parser.add_argument("--runs-dir", default="runs", help="where the variants' runs are kept and reused")
    add_options(parser.add_argument, "--baselines", "--data")
    parser.add_argument("--out", default=None,
                        help=f"the result file (default: {BASELINE_DIR / RESULT_FILE})")
    add_options(parser.add_argument, "--ray-address")


def run(*, cells: list[str] | None, aa_variant: str, perturb: list[str], perturb_seeds: int, no_pin: bool,
        aa_from: str | None, replay: str | None, perturbations_from: str, tries: int, runs_dir: str,
        baselines: str, data: str | None, out: str | None, ray_address: str | None) -> int:
    import json
    from pathlib import Path

    from rnn_models.data import load_mnist
    from rnn_models.executors import ray_address as resolve_ray_address
    from rnn_models.records.paths import check_output_file
    from rnn_models.selfcheck import accuracy_check
    from rnn_models.suite.matrix import matrix_cells
    from rnn_models.training.variants import check_variant

    out = check_output_file(out or BASELINE_DIR / RESULT_FILE, "--out")
    address = resolve_ray_address(ray_address)
    cells = cells or matrix_cells()
    perturbations = {}
    for spec in perturb:  # CELL:VARIANT
        cell, _, name = spec.partition(":")
        if cell not in cells or not name:
            raise ValueError(f"--perturb {spec!r}: expected CELL:VARIANT with CELL among {', '.join(cells)}")
        check_variant(name)
        perturbations.setdefault(cell, []).append((name, accuracy_check.perturbation_seeds(cell, perturb_seeds)))
    if aa_from:
        result = accuracy_check.replay(cells, baselines, perturbations_from, aa_ref=aa_from, n_tries=tries)
        return _store(out, result, tries, False)
    load_mnist(data)  # found and verified here, in seconds, not in each training process
    pin = not no_pin
    runs_dir = Path(runs_dir) / ("pinned" if pin else "unpinned")  # the two never mix
    if replay:
        # An A/A sample too small for a policy's looks is trained again, over as many seeds as a perturbation.
        aa_runs = {cell: (aa_variant, accuracy_check.perturbation_seeds(cell, perturb_seeds))
                   for cell in accuracy_check.short_aa_cells(cells, replay)}
        to_train = {cell: [*perturbations.get(cell, []), *([aa_runs[cell]] if cell in aa_runs else [])]
                    for cell in {*perturbations, *aa_runs}}
        accuracy_check.record_perturbations(to_train, runs_dir, data, pin=pin, ray_address=address)
        result = accuracy_check.replay(cells, baselines, replay, runs_dir=runs_dir, perturbations=perturbations,
                                       aa_runs=aa_runs, n_tries=tries)
        return _store(out, result, tries, json.loads(Path(replay).read_text()).get("numerics_pin", pin))
    result = accuracy_check.measure(cells, perturbations, baselines_dir=baselines, runs_dir=runs_dir,
                                    aa_variant=aa_variant, n_tries=tries, data_path=data, pin=pin,
                                    ray_address=address)
    return _store(out, result, tries, pin)


def _store(out, result, tries, pin):
    from rnn_models.commands.arguments import command_line
    from rnn_models.selfcheck.accuracy_check import store

    store(out, result, n_tries=tries, pin=pin, command=command_line())
    for cell, entry in result.items():
        aa = entry["aa"]
        line = [f"{cell}: A/A ({aa['variant']}) passed {aa['passed']} of {aa['tries']} tries"]
        for p in entry["perturbation_rates"]:
            line.append(f"{p['variant']} (drop {p['drop_of_statistic'] * 100:.2f} points) failed "
                        f"{p['failed']} of {p['tries']}")
        smallest = entry["smallest_drop_caught_at_95pct"]
        line.append(f"smallest drop caught at 95%: {smallest * 100:.1f} points" if smallest is not None
                    else "no drop up to 4 points is caught at 95%")
        print("; ".join(line))
    print(f"written to {out}")
    return 0
