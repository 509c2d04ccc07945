"""The speed bisect's judge: the A/B gate of a commit against the good commit.

Each judgment is the same-run A/B that the speed gate runs (``rnn_models.speed.ab``): a
worker in the candidate's worktree and one in the good commit's, timed in alternation on the
chosen cells and phase, decided by the calibrated rule. An inconclusive A/B takes more units,
round after round, up to the budget (``search.budget_looks``), before the commit counts as
inconclusive. As in the gate, a step found slower is timed again by fresh workers of both
sides and is slower only if found slower again (a bias of one pair of worker processes does
not carry to the next pair; a real slowdown does); otherwise the commit is inconclusive, so a
suspect, never a guess. The multiple-comparison family is every cell of every judgment a search
makes.
"""

from pathlib import Path

from rnn_models.bisect.search import BAD, GOOD, INCONCLUSIVE, SKIP, GoodDoesNotRun, Judgment, combine
from rnn_models.speed.ab import ABSession, ABUnavailable
from rnn_models.speed.gate import compare_confirmed, confirmed_verdict
from rnn_models.speed.worktree import dependency_difference

VERDICT_OF = {"slower": BAD, "inconclusive": INCONCLUSIVE, "unchanged": GOOD, "faster": GOOD}


def does_not_run(err):
    """The judgment of a commit whose code cannot be measured; a Ctrl-C that killed the
    workers (and so caused the failure) stays an interrupt."""
    if isinstance(err.__context__, KeyboardInterrupt):
        raise KeyboardInterrupt from err
    return Judgment(SKIP, "does not run", " ".join(str(err).split()))


class SpeedJudge:
    """``judge(commit, root)``: the A/B of the code at ``root`` against ``good_root``'s."""

    def __init__(self, good_root, cells, phase, device, batch, thresholds, family_size, log_dir):
        self.good_root, self.cells, self.phase, self.device = good_root, cells, phase, device
        self.batch, self.thresholds, self.family_size = batch, thresholds, family_size
        self.log_dir = Path(log_dir)

    def __call__(self, commit, root):
        log_dir = self.log_dir / commit.short
        log_dir.mkdir(parents=True, exist_ok=True)
        def start():
            return ABSession(root, self.good_root, self.batch, self.thresholds, log_dir=log_dir)

        session = None
        judgments = []
        try:
            session = start()
            for cell in self.cells:
                first, second, session = compare_confirmed(session, start, cell, self.phase, self.device,
                                                           self.family_size)
                judgments.append(self._judgment(first, second))
                if judgments[-1].verdict == BAD:
                    break  # one slower cell makes the commit bad
        except ABUnavailable as err:
            return self._unavailable(err)
        finally:
            if session is not None:
                session.close()
        judgment = combine(judgments)
        differs = dependency_difference(root, self.good_root)
        if differs:  # noted, not a skip: the worker ran on this environment's packages
            judgment = Judgment(judgment.verdict, judgment.label,
                                f"{judgment.measure} (pyproject.toml dependencies differ from good's)")
        return judgment

    @staticmethod
    def _judgment(first, second):
        verdict = confirmed_verdict(first, second)
        d = first.decision
        measure = f"{first.cell} {d.interval_text()}, {d.units} units"
        if second is not None:
            measure += f"; fresh workers {second.decision.interval_text()}, {second.decision.units} units"
        return Judgment(VERDICT_OF[verdict], verdict, measure)

    @staticmethod
    def _unavailable(err):
        if err.side == "baseline":
            raise GoodDoesNotRun(f"the good commit does not run: {' '.join(str(err).split())}") from None
        return does_not_run(err)
