"""The speed bisect's judge: the A/B gate of a commit against the good commit.

Each judgment is the same-run A/B that the speed gate runs (``rnn_models.speed.ab``), on the
chosen cells and phase, decided by the calibrated rule, with two differences that a search
of many judgments needs:

- **Several worker pairs.** Each process has a speed of its own, and one pair's A/B carries
  that pair's bias, now and then the size of a real slowdown, which more units do not mend
  (measured: docs/decisions.md). The judgment's units are taken by ``pairs`` fresh pairs in
  turn (``ABSession(pairs=...)``), so one odd process moves only a share of them.
- **One-sided.** The bisect asks only "slower or not": a commit is bad when the A/B finds it
  slower, good as soon as its interval excludes a slowdown of the calibrated ``min_effect``
  (unchanged, faster, or between), else inconclusive after the budget of looks
  (``search.budget_looks``), so a suspect, never a guess.

The multiple-comparison family is every cell of every judgment a search makes.
"""

from pathlib import Path

from rnn_models.bisect.search import BAD, GOOD, INCONCLUSIVE, SKIP, GoodDoesNotRun, Judgment, combine
from rnn_models.bisect.settings import DEFAULT_PAIRS
from rnn_models.speed.ab import ABSession, ABUnavailable
from rnn_models.speed.worktree import dependency_difference


def does_not_run(err):
    """The judgment of a commit whose code cannot be measured; a Ctrl-C that killed the
    workers (and so caused the failure) stays an interrupt."""
    if isinstance(err.__context__, KeyboardInterrupt):
        raise KeyboardInterrupt from err
    return Judgment(SKIP, "does not run", " ".join(str(err).split()))


def unavailable(err):
    """The judgment of a commit whose A/B could not run (``ABUnavailable``): a skip, unless the
    good commit's own worker failed (no commit can be judged then) or a Ctrl-C caused it."""
    if err.side == "baseline":
        raise GoodDoesNotRun(f"the good commit does not run: {' '.join(str(err).split())}") from None
    return does_not_run(err)


def one_sided(decision, min_effect):
    """``(verdict, label)`` of an A/B decision for the bisect: bad if slower, good once the
    interval's top is below ``1 + min_effect``, else inconclusive."""
    if decision.fails:
        return BAD, "slower"
    if decision.high < 1.0 + min_effect:
        return GOOD, decision.verdict if decision.verdict in ("unchanged", "faster") else "not slower"
    return INCONCLUSIVE, "inconclusive"


class SpeedJudge:
    """``judge(commit, root)``: the A/B of the code at ``root`` against ``good_root``'s."""

    def __init__(self, good_root, cells, phase, device, batch, thresholds, family_size, log_dir,
                 pairs=DEFAULT_PAIRS):
        self.good_root, self.cells, self.phase, self.device = good_root, cells, phase, device
        self.batch, self.thresholds, self.family_size = batch, thresholds, family_size
        self.log_dir, self.pairs = Path(log_dir), pairs

    def settled(self, decision):
        return one_sided(decision, self.thresholds.min_effect)[0] != INCONCLUSIVE

    def __call__(self, commit, root):
        log_dir = self.log_dir / commit.short
        log_dir.mkdir(parents=True, exist_ok=True)
        session = None
        judgments = []
        try:
            session = ABSession(root, self.good_root, self.batch, self.thresholds, log_dir=log_dir,
                                pairs=self.pairs)
            for cell in self.cells:
                ab = session.compare(cell, self.phase, self.device, self.family_size, settled=self.settled)
                judgments.append(self._judgment(ab))
                if judgments[-1].verdict == BAD:
                    break  # one slower cell makes the commit bad
        except ABUnavailable as err:
            return unavailable(err)
        finally:
            if session is not None:
                session.close()
        judgment = combine(judgments)
        differs = dependency_difference(root, self.good_root)
        if differs:  # noted, not a skip: the worker ran on this environment's packages
            judgment = Judgment(judgment.verdict, judgment.label,
                                f"{judgment.measure} (pyproject.toml dependencies differ from good's)")
        return judgment

    def _judgment(self, ab):
        verdict, label = one_sided(ab.decision, self.thresholds.min_effect)
        d = ab.decision
        pairs = f", {ab.worker_pairs} worker pairs" if ab.worker_pairs > 1 else ""
        return Judgment(verdict, label, f"{ab.cell} {d.interval_text()}, {d.units} units{pairs}")
