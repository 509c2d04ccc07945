"""One seed's run in a cell's stored distribution (``SeedRecord``), and the one rule for a
seed's run to count (``seed_problems``): the baseline's seeds and the accuracy gate's seed 0
alike. Plain library code: no pytest, no TensorFlow."""

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class SeedRecord:
    """One seed's run in a distribution: its curves, where and with what it ran."""

    seed: int
    test_accuracy: tuple[float, ...]  # mean test accuracy after each epoch
    test_loss: tuple[float, ...]
    train_loss: tuple[float, ...]  # mean per logging window
    max_grad_norm: float
    wall_time_s: float
    versions: dict
    fingerprint: dict | None

    @property
    def final_test_accuracy(self):
        return self.test_accuracy[-1]

    @property
    def final_train_loss(self):
        return self.train_loss[-1]

    @classmethod
    def from_result(cls, result):
        return cls(result.config.seed, tuple(e.accuracy_mean for e in result.test_curve),
                   tuple(e.loss for e in result.test_curve), tuple(w.loss for w in result.train_curve),
                   result.max_grad_norm, result.wall_time_s, dict(result.versions),
                   result.fingerprint)

    def problems(self, epochs):
        """Why this record cannot be part of a baseline (``[]`` when it can)."""
        out = []
        if len(self.test_accuracy) != epochs:
            out.append(f"seed {self.seed} has {len(self.test_accuracy)} test epochs, not {epochs}")
        values = self.test_accuracy + self.test_loss + self.train_loss
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values) or not self.train_loss:
            out.append(f"seed {self.seed} has a non-finite or missing curve value")
        elif not all(0.0 <= a <= 1.0 for a in self.test_accuracy):
            out.append(f"seed {self.seed} has a test accuracy outside [0, 1]")
        return out


def seed_problems(result, tutorial_floor=None):
    """Why ``result`` (a RunResult) cannot count as a seed of its cell, one line each
    (``[]`` when it can): it did not finish (interrupted, or non-finite at a step), or it
    ends below ``tutorial_floor``, the tutorial's printed test accuracy (None: no floor)."""
    seed, out = result.config.seed, []
    if result.interrupted:
        out.append(f"seed {seed} did not finish (interrupted)")
    if not result.finite:
        nf = result.nonfinite
        where = f" in {', '.join(nf.variables)}" if nf.variables else ""
        out.append(f"seed {seed} did not finish (non-finite at step {nf.step}{where})")
    final = result.final_test
    if tutorial_floor is not None and final is None:
        out.append(f"seed {seed} has no test accuracy to hold against the tutorial's {tutorial_floor:.3f}")
    elif tutorial_floor is not None and final.accuracy_mean < tutorial_floor:
        out.append(f"seed {seed} is below the tutorial's {tutorial_floor:.3f} ({final.accuracy_mean:.4f})")
    return out
