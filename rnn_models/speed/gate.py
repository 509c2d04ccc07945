"""The speed gate over a run's timed steps: A/B against the baseline ref when it can be
had, else the stored-median and PyTorch-ratio rules against the stored run.

- Thresholds: this machine kind's calibration, else the widest stored ones
  (``rnn_models.records.calibrations``).
- Each step's units are taken by the calibrated number of fresh worker pairs in turn, so one
  pair's own speed (where the machine placed its processes) moves only its share of them. A
  step found slower, or inconclusive leaning slower, is timed again by fresh workers (up to
  the calibration's ``retimes`` sessions), and fails only if it is found slower on all their
  units together: the same workers time every step of a run, so their biases lean all its
  steps, and a noisy machine needs more units.
- Every way the A/B can be unavailable (no stored commit, no git, a missing default ref,
  differing dependencies or libraries, a worker that fails, no calibration) is said once, in
  one line, and the fallback rules apply to each step; a step that neither can judge says so.
- A shallow clone that lacks the baseline commit, when no remote gives it, stops the session
  before any timing with one line and the fix (``check_speed_inputs``): it must never pass on
  rules the user did not choose (``--no-ab`` opts out). Should it happen later all the same,
  every step fails with that line.
"""

import contextlib
import dataclasses

from rnn_models import git
from rnn_models.machine.environment import fingerprint
from rnn_models.records.calibrations import load_calibrations, thresholds_for
from rnn_models.records.speed_runs import fingerprint_warning, newest_run
from rnn_models.regression.speed import decide_with_retimes, final_verdict
from rnn_models.speed import worktree
from rnn_models.speed.ab import ABSession, ABUnavailable
from rnn_models.speed.records import gate_extra_info
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
    judged_by: str = ""  # what decided the verdict, for the summary

    def extra_info(self):
        """The gate's fields of the step's stored record (``speed.records``)."""
        return gate_extra_info(self)

    def to_dict(self):
        """The verdict as data (a run's page: ``rnn_models.history.rundata``)."""
        data = {k: getattr(self, k) for k in ("name", "cell", "phase", "device", "mode", "verdict", "fails",
                                               "detail", "judged_by")}
        if self.ab is not None:
            d = self.ab.decision
            data["ab"] = {"ratio": d.ratio, "low": d.low, "high": d.high, "units": d.units,
                          "unit_steps": self.ab.unit_steps, "current_median_s": self.ab.current_median_s,
                          "baseline_median_s": self.ab.baseline_median_s}
        return data


def check_speed_inputs(baselines_dir, ref=None, root=None, storage=None):
    """Before any timing: every stored calibration is readable, a ref the user named exists,
    and the A/B's baseline commit (``ref``, else the newest stored run's in ``storage``) is
    in this checkout or fetched into a shallow clone. A ValueError names the problem in one
    line; a default ref that cannot be had otherwise is left to the gate's fallback."""
    load_calibrations(baselines_dir)  # a CalibrationError is a ValueError naming the file
    root = root or git.SOURCE_ROOT
    if ref is None:
        stored = newest_run(storage) if storage else None
        commit = stored.commit.get("id") if stored is not None else None
        if commit:
            try:
                baseline_commit(worktree.repo_root(root), commit, f"the stored speed run's commit {commit[:12]}")
            except worktree.RefUnavailable:
                pass  # not a shallow clone's cut: the gate says so and falls back
            except GateError as err:
                raise ValueError(str(err)) from None
        return
    try:
        baseline_commit(worktree.repo_root(root), ref, f"--ab-ref {ref}")
    except (worktree.RefUnavailable, GateError) as err:
        raise ValueError(f"--ab-ref {ref}: {err}" if isinstance(err, worktree.RefUnavailable) else str(err)) from None


def baseline_commit(repo, ref, what):
    """The full commit id of ``ref``, fetched from ``origin`` into a shallow clone that lacks
    it. A GateError (its fix in one line) when a shallow clone lacks it and no remote gives
    it; a RefUnavailable for any other reason it cannot be had. ``what`` names the ref."""
    try:
        return worktree.resolve(repo, ref)
    except worktree.RefUnavailable:
        if not worktree.is_shallow(repo):
            raise
    if worktree.fetch_commit(repo, ref):
        return worktree.resolve(repo, ref)
    why = ("origin did not give it" if "origin" in worktree.git(repo, "remote", check=False).stdout.split()
           else "there is no remote 'origin' to fetch it from")
    raise GateError(f"the speed A/B cannot run: {what} is not in this shallow clone ({repo}) and {why}. "
                    "Fetch the history (actions/checkout: fetch-depth: 0, or `git fetch --unshallow`), "
                    "or pass --no-ab to gate on the stored run's rules")


def compare_retimed(session, restart, cell, phase, device, family_size, slowdown=0.0):
    """``(first, pooled, session)``: the step's A/B in ``session``, and, when that is unclear
    (``regression.speed.needs_retime``), the decision on its units pooled with up to
    ``retimes`` fresh sessions' (else None). Each fresh session comes from ``restart()``,
    takes every look's units of the step, and is returned for the next steps; ``pooled``
    holds all units (the first's, then each session's, also kept in ``pooled.sessions``).
    ``slowdown`` stretches the current side's steps (calibration only).

    Several worker pairs average their biases over a step's units, but not over the run: the
    same workers time every step, so pairs that lean one way lean all its steps; and on a noisy
    machine one session's units are too few for a 5% slowdown. Pooled with fresh workers'
    units, a lean weighs less and a real slowdown gains the units (docs/decisions.md)."""
    first = session.compare(cell, phase, device, family_size, slowdown=slowdown)
    fresh_results = []

    def retime():
        nonlocal session
        session.close()
        session = restart()
        try:
            fresh_results.append(session.compare(cell, phase, device, family_size, slowdown=slowdown, exhaust=True))
        except BaseException:  # the caller holds the closed session: these workers are ours to stop
            session.close()
            raise
        return fresh_results[-1].log_ratios

    decision, sessions = decide_with_retimes(first.decision, first.log_ratios, retime, session.thresholds,
                                             family_size)
    if decision is None:
        return first, None, session
    pooled = dataclasses.replace(fresh_results[-1], decision=decision,
                                 log_ratios=first.log_ratios + tuple(u for s in sessions for u in s),
                                 worker_pairs=first.worker_pairs + sum(r.worker_pairs for r in fresh_results),
                                 sessions=tuple(tuple(s) for s in sessions))
    return first, pooled, session


class GateError(Exception):
    """The gate cannot judge and must not pass on other rules; ``str()`` says the fix."""


class SpeedGate:
    """``check(test name, SpeedResult, batch) -> GateOutcome`` for each timed step; before
    timing it in this process, ``prepare`` and ``wait_built`` let the A/B's workers build it
    while this process builds its own.

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
        self._current_root = current_root or git.SOURCE_ROOT
        self._baseline_root = self._batch = self._thresholds = None
        self.kind, self.fatal = None, None

    # --- the A/B session, started on first use --------------------------------------

    def _start(self, batch):
        thresholds, self.kind, how = thresholds_for(load_calibrations(self._baselines_dir), fingerprint())
        if thresholds is None:
            raise worktree.RefUnavailable(f"{how} in {self._baselines_dir}/speed_gate/: run "
                                          "`python -m rnn_models gate-check` to measure one")
        self.notes.append(f"A/B thresholds: {how}")
        if self.ref is None:
            if self.stored is None or not self.stored.commit.get("id"):
                raise worktree.RefUnavailable(
                    "no stored speed run names the commit it was recorded at; pass --ab-ref REF")
            self.ref = self.stored.commit["id"]
            if self.stored.commit.get("dirty"):
                self.notes.append(f"the stored run {self.stored.path.name} was recorded from a tree "
                                  f"with uncommitted changes; the A/B uses {self.ref[:12]} as committed")
        repo = worktree.repo_root(self._current_root)
        try:
            self.commit = worktree.resolve(repo, self.ref)
        except worktree.RefUnavailable:
            self.commit = baseline_commit(repo, self.ref, f"the baseline commit {self.ref}")
            self.notes.append(f"fetched the baseline commit {self.ref[:12]} into this shallow clone")
        self._baseline_root = self._stack.enter_context(worktree.checkout(repo, self.commit))
        differs = worktree.dependency_difference(self._current_root, self._baseline_root)
        if differs:
            raise worktree.RefUnavailable(differs)
        self._batch, self._thresholds = batch, thresholds
        self._session = ABSession(self._current_root, self._baseline_root, batch, thresholds)
        how = (f"each step's units taken by {thresholds.pairs} pairs of fresh workers in turn"
               if thresholds.pairs > 1 else "both sides in fresh workers")
        how += (f"; a step found slower, or inconclusive leaning slower, is timed again in up to "
                f"{thresholds.retimes} fresh workers' sessions and fails only if found slower on all "
                "their units together")
        self.notes.append(f"A/B against {self.ref} ({self.commit[:12]}), {how}")

    def _started(self, batch):
        """The A/B session, started on first use; None when the A/B is off or cannot run."""
        if self.unavailable is None and self._session is None and self.fatal is None:
            try:
                self._start(batch)
            except GateError as err:
                self.fatal = " ".join(str(err).split())
                self.notes.append(f"speed gate cannot judge: {self.fatal}")
                self.close()
            except (worktree.RefUnavailable, ABUnavailable, OSError) as err:
                self._give_up(err)
        return self._session

    def start(self, batch):
        """Starts the A/B's workers (and checks out the baseline) now rather than at the first
        ``prepare``: the suite calls it while it waits for its training runs, whose last ones
        leave a core free. Nothing is timed while they start."""
        self._started(batch)

    def prepare(self, cell, phase, device, batch):
        """Has the A/B's workers build the step while this process builds its own; call
        ``wait_built`` before timing anything, then ``check``."""
        if self._started(batch) is not None:
            try:
                self._session.start_build(cell, phase, device)
            except ABUnavailable as err:
                self._give_up(err)

    def wait_built(self):
        """Returns once the A/B's workers have built the step ``prepare`` sent: nothing is
        timed while they build."""
        if self._session is not None:
            try:
                self._session.wait_built()
            except ABUnavailable as err:
                self._give_up(err)

    def _ab(self, cell, phase, device, batch):
        if self._started(batch) is None:
            return None, None
        def restart():
            return ABSession(self._current_root, self._baseline_root, self._batch, self._thresholds)

        try:
            first, second, self._session = compare_retimed(
                self._session, restart, cell, phase, device, self.family_size)
            return first, second
        except ABUnavailable as err:
            self._give_up(err)
            return None, None

    def _give_up(self, err):
        self.unavailable = " ".join(str(err).split())
        self.notes.append(f"speed A/B unavailable: {self.unavailable}; falling back to the "
                          f"stored-run rules ({', '.join(r.text for r in self.rules)})")
        self.close()

    # --- the check ----------------------------------------------------------------------

    def check(self, name, result, batch):
        first, second = self._ab(result.cell, result.phase, result.device, batch)
        base = (name, result.cell, result.phase, result.device)
        if self.fatal is not None:
            outcome = GateOutcome(*base, "error", "cannot judge", True, self.fatal, judged_by="nothing")
        elif first is not None:
            outcome = self._ab_outcome(base, first, second)
        else:
            outcome = self._fallback(name, result)
        self.outcomes.append(outcome)
        return outcome

    def _ab_outcome(self, base, first, second):
        thresholds = (f"thresholds of {self.kind}" if self.kind else
                      "the widest stored thresholds (this machine kind is not calibrated)")
        d = first.decision
        text = f"current/baseline {d.interval_text()} over {d.units} units of {first.unit_steps} step pairs"
        verdict = final_verdict(d, second and second.decision)
        if second is None:
            return GateOutcome(*base, "ab", verdict, verdict == "slower", text, first, f"A/B, {thresholds}")
        d2, n = second.decision, len(second.sessions)
        text += (f" ({d.verdict}); with {n} retime{'s' if n > 1 else ''} in fresh workers, "
                 f"{d2.interval_text()} over all {d2.units} units ({d2.verdict}"
                 f"{', not confirmed' if d.fails and not d2.fails else ''})")
        return GateOutcome(*base, "ab", verdict, d2.fails, text, second,
                           f"A/B retimed in fresh workers, {thresholds}")

    def _fallback(self, name, result):
        base = (result.cell, result.phase, result.device, "fallback")
        if self.stored is None or name not in self.stored.benchmarks:
            return GateOutcome(name, *base, "not gated", False,
                               "no stored entry for this step and no A/B: not gated", judged_by="nothing")
        current = {"median": result.median_s, "ratio_to_torch": result.ratio_to_torch}
        stored = {"median": self.stored.median(name),
                  "ratio_to_torch": self.stored.extra_info(name).get("ratio_to_torch")}
        reasons = [why for why in (rule.fails(current, stored) for rule in self.rules) if why]
        detail = "; ".join(reasons) or (f"median {result.median_s * 1e3:.3g} ms vs stored "
                                        f"{stored['median'] * 1e3:.3g} ms")
        return GateOutcome(name, *base, "slower" if reasons else "within rules", bool(reasons), detail,
                           judged_by=f"stored-run rules ({', '.join(r.text for r in self.rules)})")

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None
        self._stack.close()

    # --- reports ------------------------------------------------------------------------

    def thresholds_info(self):
        """What judged the steps, as data: the A/B's thresholds (None when no A/B ran) and the
        machine kind they were calibrated on, the A/B's commit, and the fallback rules."""
        ab = dataclasses.asdict(self._thresholds) if self._thresholds is not None else None
        return {"ab": ab, "kind": self.kind, "ref": self.ref, "commit": self.commit,
                "fallback_rules": [r.text for r in self.rules], "family_size": self.family_size}

    def table(self, markdown=False):
        """The verdict of every checked step, as aligned text or as Markdown."""
        header = ("cell", "phase", "device", "verdict", "judged by", "detail")
        rows = [(o.cell, o.phase, o.device, o.verdict.upper() if o.fails else o.verdict,
                 o.judged_by, o.detail) for o in self.outcomes]
        if markdown:
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            notes = [f"- {note}" for note in self.notes]
            return "\n".join(["## rnnbench speed gate", "", *lines, "", *notes]) + "\n"
        return text_table(header, rows)
