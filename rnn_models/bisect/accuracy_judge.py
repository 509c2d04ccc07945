"""The accuracy bisect's judge: the accuracy gate's rule, with the good commit's seeds as the
stored distribution.

The good commit's runs over ``good_seeds`` seeds stand for the stored baseline
(``CellBaseline.from_results``); each commit is then judged by
``rnn_models.regression.accuracy.judge`` with the cell's policy: identical when its seed-0 run
reproduces good's bit for bit (one run), else its seeds against good's by the sequential
t-test. Its looks are extended round by round up to the budget (``search.budget_looks``); a
test still undecided at the last look is inconclusive here, not a pass.
"""

import dataclasses
from pathlib import Path

from rnn_models.bisect.runs import bound_s, expected_bound_s, measured_s, train_seeds
from rnn_models.bisect.search import (BAD, GOOD, INCONCLUSIVE, SKIP, GoodDoesNotRun, Judgment,
                                      budget_looks, combine)
from rnn_models.executors.executor import RunFailed
from rnn_models.records.baselines import CellBaseline
from rnn_models.regression.accuracy import judge as accuracy_judge


class AccuracyJudge:
    """``judge(commit, root)``: ``bad`` when any cell's accuracy fails against good's seeds.
    ``expected_s(config dict) -> seconds | None`` bounds good's runs (default: unbounded);
    good's own times bound every other commit's."""

    def __init__(self, good_root, configs, policies, good_seeds, rounds, work, data=None, expected_s=None):
        self.configs, self.work, self.data = configs, Path(work), data
        self.policies = {cell: dataclasses.replace(p, looks=budget_looks(p.looks, rounds))
                         for cell, p in policies.items()}
        self.baselines, self.run_s = {}, {}
        for config in configs:
            try:
                runs = train_seeds(good_root, config, range(good_seeds), self.work / "good", data,
                                   timeout_s=expected_bound_s(expected_s, config, good_seeds))
                self.baselines[config.cell] = CellBaseline.from_results(runs)
                self.run_s[config.cell] = measured_s(runs)
            except (RunFailed, ValueError) as err:
                raise GoodDoesNotRun(f"the good commit's seeds cannot serve as a baseline: "
                                     f"{' '.join(str(err).split())}") from None

    def __call__(self, commit, root):
        out = self.work / commit.sha
        judgments = []
        for config in self.configs:
            try:
                def train(seeds, c=config):
                    return train_seeds(root, c, seeds, out, self.data,
                                       timeout_s=bound_s(self.run_s[c.cell], len(seeds)))

                outcome = accuracy_judge(self.baselines[config.cell], train([0])[0], train,
                                         self.policies[config.cell])
            except RunFailed as err:
                return Judgment(SKIP, "does not run", f"{config.cell}: {err}")
            judgments.append(self._judgment(config.cell, outcome))
            if judgments[-1].verdict == BAD:
                break  # one failing cell makes the commit bad
        return combine(judgments)

    @staticmethod
    def _judgment(cell, outcome):
        if outcome.verdict == "identical":
            return Judgment(GOOD, "identical", f"{cell}: seed 0 bit-identical to good's")
        look = outcome.looks[-1]
        measure = (f"{cell} drop {look.drop:+.4f} [{look.low:+.4f}, {look.high:+.4f}], "
                   f"{len(look.seeds)} seeds against {outcome.baseline_seeds}")
        if outcome.verdict == "fail":
            return Judgment(BAD, "fail", measure)
        if look.verdict == "continue":
            return Judgment(INCONCLUSIVE, "inconclusive", measure)
        return Judgment(GOOD, "pass", measure)
