"""The accuracy decision: is a cell's accuracy now lower than its stored seed distribution?

Cheap when nothing changed, strong when something did:

1. The seed-0 run is compared with the stored seed-0 run: training is deterministic here,
   so an unchanged model reproduces every test accuracy, test loss and train-loss window
   bit for bit. Then the verdict is ``identical``, at the cost of one run.
2. Otherwise more seeds are run, sequentially, and the candidate's statistic (the mean
   test accuracy over the last ``last_epochs`` epochs, steadier than the last epoch alone)
   is compared with the stored seeds'. **Paired** (the policy's default): the candidate
   trains the stored seeds, with their initial weights and batch order, so each seed's drop
   ``stored_s - candidate_s`` is taken, and the drop's interval is the paired t-interval of
   those differences: a change that only moves float rounding leaves them near 0, where the
   seeds' own spread (between seeds) would hide half a point. **Unpaired**
   (``paired=False``): a one-sided two-sample t-test against every stored seed (pooled
   variance). Look k of L gets ``alpha * k^2 / sum(j^2)``,
   so the looks' levels add up to ``alpha`` (a union bound) and most of it is kept for the
   last, largest look, as O'Brien-Fleming's boundaries do. At each look:

   - ``fail``: the drop is significant (its lower bound above 0) and at least ``min_drop``,
     half the ``target_drop``;
   - ``pass``: the drop's upper bound is below ``target_drop``;
   - else the next look adds seeds. After the last look, anything but ``fail`` passes,
     noted as inconclusive.

The thresholds (means, spread, intervals) come from the stored distribution; the target
drop, ``alpha``, the statistic and the looks are the cell's policy
(``policy_for``, from the registry's ``CellSpec``), whose measured power and false-alarm rate are in
``baselines/accuracy_gate.json``.
"""

import dataclasses
import functools
import itertools
import math
import statistics

from scipy import stats

from rnn_models.tables import text_table

VERDICTS = ("identical", "pass", "fail")


@dataclasses.dataclass(frozen=True)
class Policy:
    target_drop: float = 0.005  # the drop that must be caught: half a point
    last_epochs: int = 3  # the statistic: mean test accuracy over the last epochs
    alpha: float = 0.01  # false-fail probability per cell, over all its looks
    looks: tuple[int, ...] = (3, 6, 10)  # candidate seeds at each look
    paired: bool = True  # each candidate seed against the stored run of the same seed

    def __post_init__(self):
        if self.last_epochs < 1 or not 0 < self.alpha < 1 or not 0 < self.target_drop <= 0.05:
            raise ValueError(f"invalid accuracy policy: {self}")
        if not self.looks or list(self.looks) != sorted(set(self.looks)) or self.looks[0] < 2:
            raise ValueError(f"accuracy looks must be ascending seed counts >= 2, got {self.looks}")

    @property
    def min_drop(self):
        """The smallest drop that fails: half the target."""
        return self.target_drop / 2

    def look_alpha(self, k):
        """The one-sided level of look ``k`` (0-based): ``alpha * (k+1)^2 / sum(j^2)``."""
        weights = [(j + 1) ** 2 for j in range(len(self.looks))]
        return self.alpha * weights[k] / sum(weights)

    @property
    def description(self):
        last = "the last epoch" if self.last_epochs == 1 else f"the last {self.last_epochs} epochs"
        return f"mean test accuracy over {last}"


DEFAULT_POLICY = Policy()


def statistic(test_accuracy, policy=DEFAULT_POLICY):
    """The per-seed value the test compares: the mean of the last epochs' test accuracy."""
    values = list(test_accuracy)[-policy.last_epochs:]
    return math.fsum(values) / len(values) if values else math.nan


@dataclasses.dataclass(frozen=True)
class Look:
    seeds: tuple[int, ...]
    candidate_mean: float
    baseline_mean: float
    drop: float  # baseline mean - candidate mean
    low: float  # one-sided bounds on the drop, each at the look's level
    high: float
    verdict: str  # "fail", "pass" or "continue"


def decide(baseline_values, candidate_values, alpha, policy=DEFAULT_POLICY, seeds=()):
    """One look: the drop of the candidate's mean below the baseline's, with its bounds. Paired
    (``policy.paired``): ``baseline_values[k]`` and ``candidate_values[k]`` are the same seed's,
    and the bounds are the paired t-interval of their differences (``m - 1`` degrees of
    freedom); else a two-sample t-interval with pooled variance."""
    n, m = len(baseline_values), len(candidate_values)
    base_mean, cand_mean = statistics.fmean(baseline_values), statistics.fmean(candidate_values)
    if policy.paired:
        if n != m or m < 2:
            raise ValueError(f"a paired look needs the same seeds on both sides, at least 2, got {n} and {m}")
        differences = [b - c for b, c in zip(baseline_values, candidate_values)]
        se = statistics.stdev(differences) / math.sqrt(m) if all(map(math.isfinite, differences)) else math.inf
        df = m - 1
    else:
        pooled = ((n - 1) * _variance(tuple(baseline_values))
                  + (m - 1) * (_variance(tuple(candidate_values)) if m > 1 else 0.0)) / (n + m - 2)
        se, df = math.sqrt(pooled * (1 / n + 1 / m)), n + m - 2
    t = _t_quantile(1.0 - alpha, df)
    drop = base_mean - cand_mean
    low, high = drop - t * se, drop + t * se
    if not math.isfinite(cand_mean) or (low > 0 and drop >= policy.min_drop):
        verdict = "fail"
    elif high < policy.target_drop:
        verdict = "pass"
    else:
        verdict = "continue"
    return Look(tuple(seeds), cand_mean, base_mean, drop, low, high, verdict)


# Cached: a replay decides the same stored seeds and levels thousands of times.
@functools.lru_cache(maxsize=4096)
def _variance(values):
    """The sample variance of a tuple of floats, exact (``statistics.variance``)."""
    return statistics.variance(values)


@functools.lru_cache(maxsize=256)
def _t_quantile(level, df):
    """Student's t quantile at ``level`` with ``df`` degrees of freedom."""
    return stats.t.ppf(level, df)


def matching_reference(result, baseline):
    """The numerics key of the stored seed-0 run that ``result`` reproduces bit for bit, or
    None. Any stored reference counts, whatever ``result``'s own key: each is the recording
    code's seed 0 on some machine kind, so reproducing one bit for bit means the code computes
    what the recording code computed there."""
    if result.config.seed != 0:
        return None
    for key, (train_curve, test_curve) in baseline.references().items():
        if _same_curves(result, train_curve, test_curve, "")[0]:
            return key
    return None


def why_not_identical(result, baseline):
    """Why ``result``, which reproduces no stored seed-0 run (``matching_reference`` is None),
    is not identical: not seed 0, where it first differs from the run stored under its own
    numerics key, or, when none is, the keys that are stored."""
    if result.config.seed != 0:
        return f"seed {result.config.seed} is not the reference seed 0"
    references = baseline.references()
    key = (result.fingerprint or {}).get("numerics")
    if key not in references:
        stored = ", ".join(str(k) for k in references)
        return f"no stored seed-0 run under this machine's numerics {key} (stored: {stored})"
    return _same_curves(result, *references[key], f"stored under the same numerics {key}")[1]


def identical_runs(result, reference):
    """``(True, "")`` when ``result`` reproduces ``reference``, a run of the same config,
    bit for bit, else ``(False, where they first differ)``."""
    return _same_curves(result, reference.train_curve, reference.test_curve, "in the reference run")


def identical_to_recorded(result, baseline):
    """``(True, "")`` when ``result`` reproduces the seed-0 run the baseline was recorded
    with (its own numerics, whatever ``result``'s key), else ``(False, where it first
    differs)``: how a run on another device compares with the recording machine's."""
    return _same_curves(result, baseline.train_curve, baseline.test_curve,
                        f"in the stored seed-0 run of numerics {baseline.numerics}")


def _same_curves(result, train_curve, test_curve, where):
    fields = ("epoch", "step", "loss", "accuracy_mean", "accuracy_min")
    pairs = (("train window", result.train_curve, train_curve),
             ("test epoch", result.test_curve, test_curve))
    for what, now, stored in pairs:
        if len(now) != len(stored):
            return False, f"{len(now)} {what}s against {len(stored)} {where}"
        for k, (a, b) in enumerate(zip(now, stored)):
            for name in fields:
                if getattr(a, name) != getattr(b, name):
                    return False, f"{what} {k + 1} {name}: {getattr(a, name)!r} against {getattr(b, name)!r} {where}"
    return True, ""


@dataclasses.dataclass(frozen=True)
class AccuracyOutcome:
    cell: str
    verdict: str  # one of VERDICTS
    detail: str
    looks: tuple[Look, ...]
    baseline_seeds: int
    candidate_values: tuple[float, ...]
    policy: Policy

    @property
    def fails(self):
        return self.verdict == "fail"

    def to_dict(self):
        """The verdict as data (a run's page: ``rnn_models.history.rundata``); the last look's
        ``seeds`` are the seeds of ``candidate_values``, in order."""
        return {"cell": self.cell, "verdict": self.verdict, "fails": self.fails, "detail": self.detail,
                "looks": [dataclasses.asdict(look) for look in self.looks], "baseline_seeds": self.baseline_seeds,
                "candidate_values": list(self.candidate_values),
                "policy": {**dataclasses.asdict(self.policy), "min_drop": self.policy.min_drop,
                           "description": self.policy.description}}

    @classmethod
    def from_dict(cls, data):
        """The outcome of ``to_dict``'s data (as it crossed from a pytest-xdist worker)."""
        fields = {f.name for f in dataclasses.fields(Policy)}
        policy = Policy(**{k: tuple(v) if k == "looks" else v for k, v in data["policy"].items() if k in fields})
        looks = tuple(Look(**{**look, "seeds": tuple(look["seeds"])}) for look in data["looks"])
        return cls(data["cell"], data["verdict"], data["detail"], looks, data["baseline_seeds"],
                   tuple(data["candidate_values"]), policy)

    def line(self):
        """The verdict in one line: the cell, the verdict and why."""
        return f"{self.cell}: {self.verdict} ({self.detail})"

    def table(self):
        """The decision as a table: means, the drop's bounds, the seeds used, the decision."""
        header = ("cell", "look", "seeds", "baseline mean", "now mean", "drop [bounds]", "decision")
        rows = [(self.cell, str(i + 1), ",".join(map(str, look.seeds)),
                 f"{look.baseline_mean:.4f} ({self.baseline_seeds} seeds)", f"{look.candidate_mean:.4f}",
                 f"{look.drop:+.4f} [{look.low:+.4f}, {look.high:+.4f}]", look.verdict)
                for i, look in enumerate(self.looks)]
        if not rows:
            rows = [(self.cell, "-", "0", "-", "-", "-", self.verdict)]
        rule = (f"statistic: {self.policy.description}; fail on a significant drop of at least "
                f"{self.policy.min_drop:.3f}, pass once the drop is surely below {self.policy.target_drop:.3f}")
        return "\n".join([text_table(header, rows), rule, self.line()])


def policy_for(cell):
    """The accuracy gate's policy for ``cell`` (rnn_models.regression.accuracy): the default
    (catch a 1-point drop), with the registry's changes for the cell."""
    from rnn_models.registry import get_spec

    return Policy(**get_spec(cell).accuracy_policy)


def run_statistic(run, policy=DEFAULT_POLICY):
    """A RunResult's statistic; NaN for a run that did not stay finite."""
    return statistic([e.accuracy_mean for e in run.test_curve], policy) if run.finite else math.nan


def sequential(stored, first_value, values_for, policy=DEFAULT_POLICY, seeds=None):
    """The statistical path on values: ``stored`` ``{seed: statistic}`` of the stored seeds,
    the candidate's seed-0 value, and ``values_for([seed, ...])`` for the further seeds of each
    look (so they can train side by side), taken from ``seeds`` (default 1, 2, ...). Paired, a
    look compares the candidate's seeds with the stored runs of the same seeds, and its looks
    are capped at the stored seeds. Returns ``(looks, values, seeds)``."""
    seeds = iter(seeds if seeds is not None else itertools.count(1))
    used, values, looks = [0], [first_value], []
    targets = sorted({min(n, len(stored)) for n in policy.looks}) if policy.paired else policy.looks
    for k, target in enumerate(targets):
        batch = [next(seeds) for _ in range(target - len(values))]
        if batch:
            used += batch
            values += list(values_for(batch))
        baseline = [stored[s] for s in used] if policy.paired else list(stored.values())
        look = decide(baseline, values, policy.look_alpha(k), policy, used)
        looks.append(look)
        if look.verdict != "continue":
            break
    return looks, values, used


def judge(baseline, first_run, run_seeds, policy=DEFAULT_POLICY, skip_identical=False):
    """The accuracy verdict of a cell. ``first_run`` is its seed-0 RunResult; ``run_seeds(seeds)``
    trains those seeds (RunResults in order) when the statistical path needs them.
    ``skip_identical`` forces that path."""
    if not skip_identical:
        matched = matching_reference(first_run, baseline)
        if matched is not None:
            return AccuracyOutcome(baseline.cell, "identical",
                                   f"seed 0 reproduces the stored seed-0 run of numerics {matched} bit for bit",
                                   (), len(baseline.seeds), (), policy)
        why = why_not_identical(first_run, baseline)
    else:
        why = "the identical check was skipped"
    stored = {r.seed: statistic(r.test_accuracy, policy) for r in baseline.seeds}
    stored_seeds = sorted(stored)
    # The stored seeds first, in order (each paired with its stored run), then new ones.
    order = itertools.chain((s for s in stored_seeds if s != 0), itertools.count(stored_seeds[-1] + 1))
    looks, values, seeds = sequential(
        stored, run_statistic(first_run, policy),
        lambda batch: [run_statistic(run, policy) for run in run_seeds(batch)], policy, order)
    verdict = "fail" if looks[-1].verdict == "fail" else "pass"
    if looks[-1].verdict == "continue":
        detail = f"not identical ({why}); inconclusive after {len(seeds)} seeds, passes"
    else:
        detail = f"not identical ({why}); decided after {len(seeds)} seeds"
    return AccuracyOutcome(baseline.cell, verdict, detail, tuple(looks), len(stored),
                           tuple(values), policy)
