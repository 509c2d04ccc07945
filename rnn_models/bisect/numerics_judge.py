"""The numerics bisect's judge: is a commit's pinned seed-0 run still bit-identical to good's?

Exact and cheap: one short run per cell and commit (``--steps``, ``--epochs``), compared by
the accuracy gate's own identity rule (every train window's and test epoch's loss and
accuracies, ``rnn_models.regression.accuracy.identical_runs``). No rounds: the
answer cannot be inconclusive.
"""

from pathlib import Path

from rnn_models.bisect.runs import bound_s, expected_bound_s, measured_s, train_seeds
from rnn_models.bisect.search import BAD, GOOD, SKIP, GoodDoesNotRun, Judgment
from rnn_models.executors.executor import RunFailed
from rnn_models.regression.accuracy import identical_runs

REFERENCE_SEED = 0


class NumericsJudge:
    """``judge(commit, root)``: ``bad`` when any cell's seed-0 run differs from good's.
    ``expected_s(config dict) -> seconds | None`` bounds good's runs (default: unbounded);
    good's own times bound every other commit's."""

    def __init__(self, good_root, configs, work, data=None, expected_s=None):
        self.configs, self.work, self.data = configs, Path(work), data
        try:
            self.reference = {
                c.cell: train_seeds(good_root, c, [REFERENCE_SEED], self.work / "good", data,
                                    timeout_s=expected_bound_s(expected_s, c))[0]
                for c in configs}
        except RunFailed as err:
            raise GoodDoesNotRun(f"the good commit does not run: {err}") from None

    def __call__(self, commit, root):
        for config in self.configs:
            try:
                run = train_seeds(root, config, [REFERENCE_SEED], self.work / commit.sha, self.data,
                                  timeout_s=bound_s(measured_s([self.reference[config.cell]])))[0]
            except RunFailed as err:
                return Judgment(SKIP, "does not run", f"{config.cell}: {err}")
            same, why = identical_runs(run, self.reference[config.cell])
            if not same:
                return Judgment(BAD, "differs", f"{config.cell}: {why}")
        cells = ", ".join(c.cell for c in self.configs)
        return Judgment(GOOD, "identical", f"{cells}: seed {REFERENCE_SEED} bit-identical to good's")
