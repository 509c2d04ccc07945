"""Aligned text tables for the terminal (the gates' reports and the bisect's), and Markdown
tables for pages (the GPU report)."""


def text_table(header, rows):
    """``header`` and ``rows`` (tuples of strings) as ``a | b`` lines, the columns padded to
    their widest value, with a ``--+--`` rule under the header."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(header, rows):
    """``header`` and ``rows`` (tuples of strings) as a Markdown table."""
    lines = ["| " + " | ".join(r) + " |" for r in [header, *rows]]
    lines.insert(1, "|" + "|".join("---" for _ in header) + "|")
    return "\n".join(lines)
