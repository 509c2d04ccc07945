"""The speed gate over a run's timed steps: A/B against the baseline ref when it can be
had, else the stored-median and PyTorch-ratio rules against the stored run.

Every way the A/B can be unavailable (no stored commit, no git, a missing ref, differing
dependencies or libraries, a worker that fails, no calibration) is said once, in one line,
and the fallback rules apply to each step; a step that neither can judge says so too.
"""

import contextlib
import dataclasses
from pathlib import Path

from rnn_models.environment import fingerprint, fingerprint_differences
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABSession, ABUnavailable
from rnn_models.speed.calibration_file import CalibrationError, load_calibration, summary_line
from rnn_models.speed.stored import fingerprint_warning, newest_run
from rnn_models.tables import text_table


@dataclasses.dataclass(frozen=True)
class GateOutcome:
    """One step's verdict. ``mode`` is ``ab`` or ``fallback``."""

    name: str
    cell: str
    phase: str
    device: str
    mode: str
    verdict: str
    fails: bool
    detail: str
    ab: object = None  # ABResult when mode == "ab"

    def extra_info(self):
        info = {"gate_mode": self.mode, "gate_verdict": self.verdict}
        return {**info, **(self.ab.extra_info() if self.ab is not None else {})}


class SpeedGate:
    """``check(test name, SpeedResult, batch) -> GateOutcome`` for each timed step.

    ``ref`` names the baseline commit (default: the stored run's ``commit_info``);
    ``ab=False`` uses the fallback rules only. ``family_size`` is the number of steps
    gated in this run, for the A/B's multiple-comparison correction.
    """

    def __init__(self, storage, baselines_dir, fallback_rules, family_size, ref=None, ab=True,
                 current_root=None):
        self.notes = []
        self.outcomes = []
        self.rules = list(fallback_rules)
        self.family_size = family_size
        self.stored = newest_run(storage, warn=self.notes.append)
        mismatch = fingerprint_warning(self.stored, fingerprint())
        if mismatch:
            self.notes.append(mismatch)
        self._session = None
        self._stack = contextlib.ExitStack()  # the worktree, removed on close
        self.ref, self.commit = ref, None
        self.unavailable = None if ab else "the A/B is off (--no-ab)"
        if not ab:
            self.notes.append(f"speed A/B off (--no-ab): the stored-run rules gate "
                              f"({', '.join(r.text for r in self.rules)})")
        self._baselines_dir = baselines_dir
        self._current_root = current_root or Path(__file__).resolve().parents[2]

    # --- the A/B session, started on first use --------------------------------------

    def _start(self, batch):
        thresholds, calibration = load_calibration(self._baselines_dir)
        self.notes.append(f"A/B thresholds from {self._baselines_dir}/speed_gate.json, "
                          + summary_line(calibration))
        differing = fingerprint_differences(calibration.get("machine"), fingerprint())
        if differing:
            self.notes.append(f"the A/B gate was calibrated on another machine ({', '.join(differing)} "
                              "differ): its rates are measured there; run `python -m rnn_models "
                              "gate-check` to calibrate here")
        if self.ref is None:
            if self.stored is None or not self.stored.commit.get("id"):
                raise worktree.RefUnavailable(
                    "no stored speed run names the commit it was recorded at; pass --ab-ref REF")
            self.ref = self.stored.commit["id"]
            if self.stored.commit.get("dirty"):
                self.notes.append(f"the stored run {self.stored.path.name} was recorded from a tree "
                                  f"with uncommitted changes; the A/B uses {self.ref[:12]} as committed")
        repo = worktree.repo_root(self._current_root)
        self.commit = worktree.resolve(repo, self.ref)
        baseline_root = self._stack.enter_context(worktree.checkout(repo, self.commit))
        differs = worktree.dependency_difference(self._current_root, baseline_root)
        if differs:
            raise worktree.RefUnavailable(differs)
        self._session = ABSession(self._current_root, baseline_root, batch, thresholds)
        self.notes.append(f"A/B against {self.ref} ({self.commit[:12]}), both sides in fresh workers")

    def _ab(self, cell, phase, device, batch):
        if self.unavailable is None and self._session is None:
            try:
                self._start(batch)
            except (worktree.RefUnavailable, ABUnavailable, CalibrationError, OSError) as err:
                self._give_up(err)
        if self._session is None:
            return None
        try:
            return self._session.compare(cell, phase, device, self.family_size)
        except ABUnavailable as err:
            self._give_up(err)
            return None

    def _give_up(self, err):
        self.unavailable = " ".join(str(err).split())
        self.notes.append(f"speed A/B unavailable: {self.unavailable}; falling back to the "
                          f"stored-run rules ({', '.join(r.text for r in self.rules)})")
        self.close()

    # --- the check ----------------------------------------------------------------------

    def check(self, name, result, batch):
        ab = self._ab(result.cell, result.phase, result.device, batch)
        if ab is not None:
            d = ab.decision
            outcome = GateOutcome(name, result.cell, result.phase, result.device, "ab", d.verdict,
                                  d.fails, f"current/baseline {d.interval_text()} over {d.units} "
                                  f"units of {ab.unit_steps} step pairs", ab)
        else:
            outcome = self._fallback(name, result)
        self.outcomes.append(outcome)
        return outcome

    def _fallback(self, name, result):
        base = (result.cell, result.phase, result.device, "fallback")
        if self.stored is None or name not in self.stored.benchmarks:
            return GateOutcome(name, *base, "not gated", False,
                               "no stored entry for this step and no A/B: not gated")
        current = {"median": result.median_s, "ratio_to_torch": result.ratio_to_torch}
        stored = {"median": self.stored.median(name),
                  "ratio_to_torch": self.stored.extra_info(name).get("ratio_to_torch")}
        reasons = [why for why in (rule.fails(current, stored) for rule in self.rules) if why]
        detail = "; ".join(reasons) or (f"median {result.median_s * 1e3:.3g} ms vs stored "
                                        f"{stored['median'] * 1e3:.3g} ms")
        return GateOutcome(name, *base, "slower" if reasons else "within rules", bool(reasons), detail)

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None
        self._stack.close()

    # --- reports ------------------------------------------------------------------------

    def table(self, markdown=False):
        """The verdict of every checked step, as aligned text or as Markdown."""
        header = ("cell", "phase", "device", "gate", "verdict", "detail")
        rows = [(o.cell, o.phase, o.device, o.mode, o.verdict.upper() if o.fails else o.verdict,
                 o.detail) for o in self.outcomes]
        if markdown:
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            notes = [f"- {note}" for note in self.notes]
            return "\n".join(["## rnnbench speed gate", "", *lines, "", *notes]) + "\n"
        return text_table(header, rows)
