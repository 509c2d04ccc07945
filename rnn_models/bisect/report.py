"""What the bisect prints: a line per judged commit as it goes, then a table of every commit
tried, in history order, and the answer on the last line."""

from rnn_models.bisect.search import BAD, FOUND, INCONCLUSIVE, NO_REGRESSION, NOT_ESTABLISHED, SKIP
from rnn_models.tables import text_table

SUBJECT_WIDTH, MEASURE_WIDTH = 48, 72  # the table's; the step lines keep every word


def _clip(text, width):
    return text if len(text) <= width else text[:width - 3] + "..."


def _verdict(judgment):
    """``bad (slower)``; the verdict alone where the metric's word is the same."""
    j = judgment
    return j.verdict if j.label == j.verdict else f"{j.verdict} ({j.label})"


def step_line(number, step):
    """``[3] 1a2b3c4d5e6f subject: bad (slower) basic_lstm 1.52 [1.40, 1.65], 32 units; 41.2 s,
    2 in doubt``."""
    j = step.judgment
    return (f"[{number}] {step.commit.short} {_clip(step.commit.subject, SUBJECT_WIDTH)}: {_verdict(j)} "
            f"{j.measure}; {step.seconds:.1f} s, {step.in_doubt} in doubt")


def table(outcome):
    """Every commit tried, oldest first."""
    header = ("#", "commit", "subject", "verdict", "measure", "time")
    rows = [(str(s.index), s.commit.short, _clip(s.commit.subject, SUBJECT_WIDTH),
             _verdict(s.judgment), _clip(s.judgment.measure, MEASURE_WIDTH),
             f"{s.seconds:.1f} s")
            for s in sorted(outcome.steps, key=lambda s: s.index)]
    return text_table(header, rows)


def conclusion(outcome, rounds_note=""):
    """The lines after the table; the last one is the answer. (A claimed-bad commit that does
    not run is an error, not a conclusion: the command says so.)"""
    lines = [f"skipped (does not run): {s.commit.sha} {s.commit.subject}: {s.judgment.measure}"
             for s in sorted(outcome.skipped, key=lambda s: s.index)]
    bad = outcome.steps[0]
    if outcome.status == FOUND:
        first = outcome.first_bad
        return [*lines, f"first bad commit: {first.sha} {first.subject}"]
    if outcome.status == NO_REGRESSION:
        return [*lines, f"no regression in the range: --bad {bad.commit.short} is not worse than --good "
                        f"({bad.judgment.label}: {bad.judgment.measure})"]
    if outcome.status == NOT_ESTABLISHED:
        return [*lines, f"no regression established: --bad {bad.commit.short} is inconclusive against "
                        f"--good{rounds_note} ({bad.judgment.measure})"]
    verdicts = {s.commit.sha: s.judgment.verdict for s in outcome.steps}
    why = {SKIP: "skipped", INCONCLUSIVE: "inconclusive", BAD: "the first bad of those judged"}
    lines += [f"suspect: {c.sha} {c.subject} ({why[verdicts[c.sha]]})"
              for c in outcome.suspects]
    return [*lines, f"no single first bad commit: {len(outcome.suspects)} suspects remain{rounds_note}"]
