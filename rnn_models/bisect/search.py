"""The bisection itself, over an abstract judge: which commit of a range first made things worse.

No git and no TensorFlow here, so every path is unit-testable. ``commits[0]`` is the known-good
commit, ``commits[-1]`` the claimed-bad one, oldest first. ``judge(commit)`` answers a
``Judgment`` whose verdict is one of:

- ``bad``: worse than the good commit (the A/B says slower, the run differs, the accuracy fails);
- ``good``: not worse;
- ``inconclusive``: the metric could not tell within its budget of rounds;
- ``skip``: the commit does not install or run (as ``git bisect skip``).

The claimed-bad commit is judged first, so a range without a regression says so instead of
being searched. Then a binary search keeps the range in doubt, ``(last good, first bad]``, and
judges the untried commit nearest its middle; skipped and inconclusive commits are stepped
around, as ``git bisect`` does after a skip. When no untried commit is left inside, either one
commit remains (the first bad commit) or the skipped and inconclusive commits before the first
bad one are suspects with it: the search says so rather than guessing.
"""

import dataclasses
import math
import time

GOOD, BAD, INCONCLUSIVE, SKIP = "good", "bad", "inconclusive", "skip"
VERDICTS = (GOOD, BAD, INCONCLUSIVE, SKIP)

# The outcomes, by what the search could establish.
FOUND = "found"  # exactly one first bad commit
SUSPECTS = "suspects"  # skipped or inconclusive commits leave several candidates
NO_REGRESSION = "no regression"  # the claimed-bad commit is not worse than good
NOT_ESTABLISHED = "not established"  # the claimed-bad commit's judgment was inconclusive
BAD_DOES_NOT_RUN = "bad does not run"  # the claimed-bad commit was skipped


@dataclasses.dataclass(frozen=True)
class Judgment:
    """One commit's verdict, the metric's own word for it, and what it measured."""

    verdict: str  # one of VERDICTS
    label: str  # e.g. "slower", "unchanged", "differs", "identical", "fail", "does not run"
    measure: str  # e.g. "ratio 1.52 [1.40, 1.65], 32 units"

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"a judgment's verdict must be one of {VERDICTS}, got {self.verdict!r}")


class GoodDoesNotRun(RuntimeError):
    """The good commit itself cannot be measured, so no commit can be judged against it."""


def combine(judgments):
    """One commit's judgment from its cells': bad if any is bad, else skip if any does not
    run, else inconclusive if any is, else good; every cell's measure is kept."""
    for verdict in (BAD, SKIP, INCONCLUSIVE, GOOD):
        same = [j for j in judgments if j.verdict == verdict]
        if same:
            labels = ", ".join(dict.fromkeys(j.label for j in same))
            return Judgment(verdict, labels, "; ".join(j.measure for j in judgments))
    raise ValueError("a commit's judgment needs at least one cell's")


@dataclasses.dataclass(frozen=True)
class Step:
    """One judged commit: its place in the range (0 is good), the judgment and its time."""

    index: int
    commit: object
    judgment: Judgment
    seconds: float
    in_doubt: int  # commits still in doubt after this step


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str  # FOUND, SUSPECTS, NO_REGRESSION, NOT_ESTABLISHED or BAD_DOES_NOT_RUN
    steps: tuple[Step, ...]  # in the order they were judged
    suspects: tuple  # the commits that may be the first bad one, oldest first (one when found)

    @property
    def first_bad(self):
        return self.suspects[0] if self.status == FOUND else None

    @property
    def skipped(self):
        return tuple(s for s in self.steps if s.judgment.verdict == SKIP)


def expected_steps(commits):
    """Judgments a search of ``commits`` (good included) makes without skips: the claimed-bad
    commit, then a halving of the rest. The speed judge's multiple-comparison family."""
    candidates = len(commits) - 1
    return 1 + math.ceil(math.log2(candidates)) if candidates > 1 else 1


def budget_looks(looks, rounds):
    """The sample counts of ``rounds`` rounds: the metric's own looks, then its last look's
    count again for every further round, e.g. ``(16, 32)``, 3 rounds -> ``(16, 32, 64, 96)``."""
    if rounds < 1:
        raise ValueError(f"expected at least 1 round, got {rounds}")
    return tuple(looks) + tuple(looks[-1] * k for k in range(2, rounds + 1))


def _next_index(low, high, tried):
    """The untried index strictly between ``low`` and ``high`` nearest their middle (the lower
    of two equally near), or None when every one is tried."""
    untried = [i for i in range(low + 1, high) if i not in tried]
    return min(untried, key=lambda i: (abs(2 * i - (low + high)), i)) if untried else None


def bisect(commits, judge, on_step=None, clock=time.monotonic):
    """The search over ``commits`` (good first, the claimed-bad one last) with ``judge(commit)
    -> Judgment``; ``on_step(step)`` is told of every judged commit as it is judged."""
    if len(commits) < 2:
        raise ValueError("a bisect needs the good commit and at least one later commit")
    steps, tried = [], set()
    low, high = 0, len(commits) - 1

    def judged(index):
        nonlocal low, high
        start = clock()
        judgment = judge(commits[index])
        tried.add(index)
        if judgment.verdict == BAD:
            high = index
        elif judgment.verdict == GOOD:
            low = index
        step = Step(index, commits[index], judgment, clock() - start, high - low)
        steps.append(step)
        if on_step is not None:
            on_step(step)
        return judgment.verdict

    first = judged(high)
    if first != BAD:
        status = {GOOD: NO_REGRESSION, INCONCLUSIVE: NOT_ESTABLISHED, SKIP: BAD_DOES_NOT_RUN}[first]
        return Outcome(status, tuple(steps), ())
    while (index := _next_index(low, high, tried)) is not None:
        judged(index)
    suspects = tuple(commits[low + 1:high + 1])
    return Outcome(FOUND if len(suspects) == 1 else SUSPECTS, tuple(steps), suspects)
