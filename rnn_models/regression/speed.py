"""The A/B speed decision: is the current code's step slower than the baseline ref's?

Samples are units, not single rounds: a unit times many pairs of single steps, one on
each side back to back (alternating which goes first), and contributes the median of the
pairs' ``log(current step / baseline step)``. Both sides of a pair see the same machine
state, so the machine's drifts cancel in each ratio; consecutive units are near-independent,
unlike consecutive rounds.

The ratio's estimate is the median of the units' ``d`` with its distribution-free interval
from the sign test (two order statistics, from the binomial distribution). The median holds
while fewer than half the units move: the units are spread over fresh worker pairs in turn,
and one pair of three that times its baseline side slow moves a third of them, past the
29% breakdown of the Hodges-Lehmann estimate (the median of the Walsh averages, with the
Wilcoxon signed-rank interval), which judged the calibrations and trials stored before
2026-12-06 and stays selectable (``Thresholds.estimator``) so that those replay to their
own verdicts (docs/decisions.md). That interval is widened by ``process_sigma``, the
spread between fresh processes that one run cannot see, measured by the calibration. The
decision is sequential, as Pinpoint's: more units are taken while the answer is unclear,
at the looks the calibration fixed, each look at the Bonferroni share of ``family_alpha``
over every gated step and look.

Verdicts, with ``m = log(1 + min_effect)``:
- ``slower``: the interval is above 0 and the estimate at least ``m``;
- ``faster``: the interval is below 0 and the estimate at most ``-m``;
- ``unchanged``: the interval lies inside ``(-m, m)``;
- ``inconclusive``: none of these (more units; still so at the last look, it passes with a note).

A step whose first A/B is unclear (found slower, or inconclusive leaning slower: the estimate
at least ``RETIME_LEAN * m``) is timed again by fresh workers, up to ``retimes`` sessions,
and decided on every session's units together (``decide_with_retimes``). Only such a pooled
decision fails a step: the same workers time every step of a run, so their lean is in all of
its first A/Bs, and on a noisy machine one session's units are too few. A step takes at most
``retimes`` pooled decisions, so the per-look level (Bonferroni over the larger of the looks
and the retimes) bounds the whole gate's false alarms by ``family_alpha``.
"""

import dataclasses
import math

import numpy as np
from scipy import stats

VERDICTS = ("slower", "faster", "unchanged", "inconclusive")
RETIME_LEAN = 0.5  # an inconclusive estimate past this share of m retimes (docs/decisions.md)


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The A/B gate's settings; the calibration file stores them with their measurements."""

    min_effect: float  # the smallest slowdown that fails, as a fraction (0.03 = 3%)
    process_sigma: float  # between-process sd of the log ratio, added to each interval
    family_alpha: float  # false-alarm probability for the whole gate, all steps and looks
    looks: tuple[int, ...]  # units at each look, ascending
    block_s: float  # target seconds of one side's steps in a unit
    pairs: int = 1  # fresh worker pairs that take the units in turn (their biases average out)
    retimes: int = 2  # fresh-worker sessions an unclear step may take after its first A/B
    estimator: str = "median"  # a key of ESTIMATORS: the units' center and its interval

    def __post_init__(self):
        if not (0 < self.min_effect < 1 and self.process_sigma >= 0 and 0 < self.family_alpha < 1
                and self.pairs >= 1 and self.retimes >= 1 and self.estimator in ESTIMATORS):
            raise ValueError(f"invalid A/B thresholds: {self}")
        if not self.looks or list(self.looks) != sorted(set(self.looks)) or self.looks[0] < 2:
            raise ValueError(f"A/B looks must be ascending unit counts >= 2, got {self.looks}")

    def alpha_per_look(self, family_size):
        """One-sided level of each look of each gated step (Bonferroni over the looks, or over
        the pooled decisions that alone can fail a step where there are more of those)."""
        return self.family_alpha / (max(1, family_size) * max(len(self.looks), self.retimes))


@dataclasses.dataclass(frozen=True)
class Decision:
    verdict: str
    ratio: float  # exp(estimate): current time / baseline time
    low: float  # interval on the ratio
    high: float
    units: int

    @property
    def fails(self):
        return self.verdict == "slower"

    def interval_text(self):
        return f"{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}]"


def signed_rank_cdf(n):
    """``P(T+ <= t)`` for t = 0..n(n+1)/2 under H0, T+ the Wilcoxon signed-rank statistic
    of ``n`` untied samples: the exact distribution, by counting subsets of ranks."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    for rank in range(1, n + 1):
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    return np.cumsum(counts) / 2.0 ** n


def hodges_lehmann(d, alpha):
    """``(estimate, low, high)`` of the center of ``d``: the median of the Walsh averages
    and the (1 - 2 alpha) interval ``[W_(c), W_(N + 1 - c)]`` with ``c - 1`` the largest t of
    ``P(T+ <= t) <= alpha``. An interval that ``n`` samples cannot reach is infinite."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        raise ValueError(f"the A/B decision needs at least 2 units, got {n}")
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    estimate = float(np.median(walsh))
    reachable = np.nonzero(signed_rank_cdf(n) <= alpha)[0]
    if len(reachable) == 0:
        return estimate, -math.inf, math.inf
    c = int(reachable[-1]) + 1
    return estimate, float(walsh[c - 1]), float(walsh[len(walsh) - c])


def median_interval(d, alpha):
    """``(estimate, low, high)`` of the center of ``d`` (1-D float, the units' log ratios): the
    median and the (1 - 2 alpha) sign-test interval ``[d_(c), d_(n + 1 - c)]`` of the sorted
    ``d``, with ``c - 1`` the largest k of ``P(B <= k) <= alpha``, ``B ~ Binomial(n, 1/2)``.
    An interval that ``n`` samples cannot reach is infinite."""
    d = np.sort(np.asarray(d, dtype=float))
    n = len(d)
    if n < 2:
        raise ValueError(f"the A/B decision needs at least 2 units, got {n}")
    estimate = float(np.median(d))
    reachable = np.nonzero(stats.binom.cdf(np.arange(n + 1), n, 0.5) <= alpha)[0]
    if len(reachable) == 0:
        return estimate, -math.inf, math.inf
    c = int(reachable[-1]) + 1
    return estimate, float(d[c - 1]), float(d[n - c])


ESTIMATORS = {"median": median_interval, "hodges_lehmann": hodges_lehmann}
UNNAMED_ESTIMATOR = "hodges_lehmann"  # what judged a stored record that names none (before the median's)


def decide(d, thresholds, family_size):
    """The verdict on the units' log ratios ``d`` taken so far."""
    alpha = thresholds.alpha_per_look(family_size)
    estimate, low, high = ESTIMATORS[thresholds.estimator](d, alpha)
    spread = stats.norm.ppf(1.0 - alpha) * thresholds.process_sigma
    low = estimate - math.hypot(estimate - low, spread)
    high = estimate + math.hypot(high - estimate, spread)
    m = math.log1p(thresholds.min_effect)
    if low > 0 and estimate >= m:
        verdict = "slower"
    elif high < 0 and estimate <= -m:
        verdict = "faster"
    elif -m < low and high < m:
        verdict = "unchanged"
    else:
        verdict = "inconclusive"
    return Decision(verdict, math.exp(estimate), math.exp(low), math.exp(high), len(d))


def needs_retime(decision, thresholds):
    """Whether a step's decision so far is unclear enough to time it again in fresh workers:
    found slower (a lean of its workers, or a slowdown), or inconclusive with its estimate at
    least ``RETIME_LEAN`` of the minimum effect (too few units for this machine's noise)."""
    if decision.fails:
        return True
    return (decision.verdict == "inconclusive"
            and math.log(decision.ratio) >= RETIME_LEAN * math.log1p(thresholds.min_effect))


def decide_with_retimes(first, first_units, retime, thresholds, family_size):
    """``(pooled, sessions)``: while the decision is unclear (``needs_retime``) and fewer than
    ``thresholds.retimes`` fresh sessions were taken, ``retime()`` gives the next fresh
    session's units and the step is decided again on all of them together; it stops at a
    pooled decision that is slower. ``pooled`` is the last pooled decision (None when the
    first was clear) and ``sessions`` each fresh session's units. ``first``: the decision on
    ``first_units``, the first A/B's."""
    units, sessions, pooled = list(first_units), [], None
    while len(sessions) < thresholds.retimes and needs_retime(pooled or first, thresholds):
        fresh = list(retime())
        sessions.append(fresh)
        units += fresh
        pooled = decide(units, thresholds, family_size)
        if pooled.fails:
            break
    return pooled, sessions


def final_verdict(first, pooled):
    """A step's verdict: the first A/B's when it was not timed again (``pooled`` None), else
    the pooled decision's, except that a step found slower and not confirmed is inconclusive.
    Only a pooled ``slower`` fails."""
    if pooled is None:
        return "inconclusive" if first.fails else first.verdict
    if first.fails and not pooled.fails:
        return "inconclusive"
    return pooled.verdict


def decide_sequentially(d, thresholds, family_size):
    """The decision at the first look that is not inconclusive, else at the last look
    with data; ``d`` holds every unit taken (a run stops taking units once decided)."""
    decision = None
    for look in thresholds.looks:
        if look > len(d):
            break
        decision = decide(d[:look], thresholds, family_size)
        if decision.verdict != "inconclusive":
            return decision
    return decision if decision is not None else decide(d, thresholds, family_size)


def next_look(units, thresholds):
    """The unit count of the next look after ``units``, or None after the last."""
    return next((look for look in thresholds.looks if look > units), None)
