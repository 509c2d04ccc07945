"""The A/B speed decision: is the current code's step slower than the baseline ref's?

Samples are units, not single rounds: a unit times many pairs of single steps, one on
each side back to back (alternating which goes first), and contributes the median of the
pairs' ``log(current step / baseline step)``. Both sides of a pair see the same machine
state, so the machine's drifts cancel in each ratio; consecutive units are near-independent,
unlike consecutive rounds.

The ratio's estimate is the Hodges-Lehmann estimate of the median ``d`` (the median of
the Walsh averages) with its distribution-free interval from the exact Wilcoxon
signed-rank distribution. That interval is widened by ``process_sigma``, the spread
between fresh processes that one run cannot see, measured by the calibration. The
decision is sequential, as Pinpoint's: more units are taken while the answer is unclear,
at the looks the calibration fixed, each look at the Bonferroni share of ``family_alpha``
over every gated step and look.

Verdicts, with ``m = log(1 + min_effect)``:
- ``slower``: the interval is above 0 and the estimate at least ``m`` (fails the gate);
- ``faster``: the interval is below 0 and the estimate at most ``-m``;
- ``unchanged``: the interval lies inside ``(-m, m)``;
- ``inconclusive``: none of these (more units; still so at the last look, it passes with a note).
"""

import dataclasses
import math

import numpy as np
from scipy import stats

VERDICTS = ("slower", "faster", "unchanged", "inconclusive")


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """The A/B gate's settings; the calibration file stores them with their measurements."""

    min_effect: float  # the smallest slowdown that fails, as a fraction (0.03 = 3%)
    process_sigma: float  # between-process sd of the log ratio, added to each interval
    family_alpha: float  # false-alarm probability for the whole gate, all steps and looks
    looks: tuple[int, ...]  # units at each look, ascending
    block_s: float  # target seconds of one side's steps in a unit
    pairs: int = 1  # fresh worker pairs that take the units in turn (their biases average out)

    def __post_init__(self):
        if not (0 < self.min_effect < 1 and self.process_sigma >= 0 and 0 < self.family_alpha < 1
                and self.pairs >= 1):
            raise ValueError(f"invalid A/B thresholds: {self}")
        if not self.looks or list(self.looks) != sorted(set(self.looks)) or self.looks[0] < 2:
            raise ValueError(f"A/B looks must be ascending unit counts >= 2, got {self.looks}")

    def alpha_per_look(self, family_size):
        """One-sided level of each look of each gated step (Bonferroni)."""
        return self.family_alpha / (max(1, family_size) * len(self.looks))


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


def decide(d, thresholds, family_size):
    """The verdict on the units' log ratios ``d`` taken so far."""
    alpha = thresholds.alpha_per_look(family_size)
    estimate, low, high = hodges_lehmann(d, alpha)
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


def confirmation(first_units, fresh_units, thresholds, family_size):
    """The decision on a step found slower once fresh workers have timed it too: on both A/Bs'
    units together, so a lean of the first workers weighs half and a real slowdown gains the
    units."""
    return decide([*first_units, *fresh_units], thresholds, family_size)


def confirmed_verdict(first, second):
    """A step's verdict when a step found slower (``first``) is timed again in fresh workers
    (``second``: the decision on both A/Bs' units, None when it was not timed again): slower
    only when that is slower too, else inconclusive."""
    if second is None:
        return first.verdict
    return "slower" if second.fails else "inconclusive"


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
