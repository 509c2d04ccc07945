"""``gpu-report``: ``tools/gpu_check.sh``'s results gathered into ``baselines/gpu/<device>.json``
and ``docs/gpu.md``'s table (``rnn_models.records.gpu_report``)."""

from rnn_models.records.baselines import BASELINE_DIR

NAME = "gpu-report"
HELP = ("gather tools/gpu_check.sh's results into baselines/gpu/<device>.json "
        "and docs/gpu.md's table")


def add_arguments(parser):
    parser.add_argument("--results", required=True, metavar="DIR", help="the script's results folder")
    parser.add_argument("--out", default=str(BASELINE_DIR / "gpu"), metavar="DIR",
                        help="where <device slug>.json goes (default: %(default)s)")
    parser.add_argument("--docs", default="docs/gpu.md", metavar="FILE",
                        help="the page whose generated part is filled (default: %(default)s)")
    parser.add_argument("--docs-out", default=None, metavar="FILE",
                        help="write the filled page here instead of over --docs")


def run(*, results: str, out: str, docs: str, docs_out: str | None) -> int:
    import json
    from pathlib import Path

    from rnn_models.records.atomic import write_bytes_atomic
    from rnn_models.records.gpu_report import collect, fill_page, render
    from rnn_models.records.paths import check_input_dir, check_output_dir

    record = collect(check_input_dir(results, "--results"))
    table = render(record)
    written = []
    if record["slug"]:
        path = check_output_dir(out, "--out") / f"{record['slug']}.json"
        write_bytes_atomic(path, (json.dumps(record, indent=2) + "\n").encode())
        written.append(path)
    page = Path(docs)
    if not page.exists():
        raise ValueError(f"--docs {page}: no such file")
    docs_out = Path(docs_out or docs)
    write_bytes_atomic(docs_out, fill_page(page.read_text(), table).encode())
    written.append(docs_out)
    print(table, end="")
    for path in written:
        print(f"written: {path}")
    return 0
