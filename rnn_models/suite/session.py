"""A suite session's state, pytest-free: what its tests reported, the update's commit, and the
summary. The pytest plugin (``rnn_models.suite.plugin``) hands it each test's report and prints
what it returns.

Tests report through pytest's ``user_properties`` (``RUN``, ``NUMERICS``, ``ACCURACY``), so the
controller of a pytest-xdist session sees every run, whichever worker or host trained it. A run
and an accuracy verdict travel there as their dicts; the session reads each back once, as a
RunResult and an AccuracyOutcome, and renders their tables only for the terminal; the run's
page gets them as data.
"""

import time

from rnn_models.machine import interrupts

RUN, NUMERICS, ACCURACY = "rnnbench_run", "rnnbench_numerics", "rnnbench_accuracy"


def check_inputs(*, cells, epochs, update, baselines, plots, speed_summary, ray_address_option,
                 gate_speed, ab_ref, controller, speed_storage=None, report=None):
    """Every option and stored input of a session, checked before any test runs: returns
    ``(selected cells or None, Ray address or None, the update lock or None)``. A ValueError
    names the option or file in one line. On the controller (or a plain session), an update
    takes the folder's lock, and an update a kill cut short is completed first."""
    from rnn_models.executors import ray_address
    from rnn_models.records.atomic import lock_for_update, recover
    from rnn_models.speed.gate import check_speed_inputs
    from rnn_models.suite.matrix import check_suite_options, matrix_cells
    from rnn_models.suite.stored_inputs import check_stored_inputs

    selected = check_suite_options(cells=cells, epochs=epochs, update=update, baselines=baselines,
                                   plots=plots, speed_summary=speed_summary, report=report)
    address = ray_address(ray_address_option)
    lock = None
    if controller:
        lock = lock_for_update(baselines) if update else None  # one update of a folder at a time
        recover(baselines)  # complete an update a kill interrupted, drop stale temp files
    if not update:
        check_stored_inputs(baselines, [c for c in matrix_cells() if selected is None or c in selected], epochs)
    if gate_speed:  # the A/B's inputs, and its baseline commit (``speed_storage``: the stored runs)
        check_speed_inputs(baselines, ab_ref, storage=speed_storage)
    return selected, address, lock


class SuiteSession:
    """The runs (RunResults), numerics outcomes, accuracy verdicts (AccuracyOutcomes by cell)
    and failed tests of one session, the notes for its summary, and this process's speed
    results (for the plots)."""

    def __init__(self, baselines):
        self.baselines = baselines
        self.runs, self.numerics, self.accuracy, self.failed, self.notes = [], {}, {}, [], []
        self.speed_results = []
        self.started = time.perf_counter()

    def take(self, nodeid, failed, when, properties):
        """One test report: its outcome, and (from its call phase) what it reported."""
        if failed:
            self.failed.append(nodeid)
        if when != "call":  # the teardown report repeats the call's properties
            return
        from rnn_models.records.results import RunResult
        from rnn_models.regression.accuracy import AccuracyOutcome

        for name, value in properties:
            if name == RUN:
                self.runs.append(RunResult.from_dict(value))
            elif name == NUMERICS:
                self.numerics.update(value)
            elif name == ACCURACY:
                self.accuracy[value["cell"]] = AccuracyOutcome.from_dict(value)

    def stopped(self):
        self.notes.append(f"stopped by {interrupts.describe()}: the tests so far are reported "
                          "above, exit code 2 (pytest's 'interrupted')")

    def commit_update(self, transaction, passed):
        """Every staged file at once, or none: only a session whose tests all passed commits.
        Returns False when the runs could not make a baseline (the session then fails)."""
        from rnn_models.suite.stored_inputs import stage_update

        if not passed or self.failed:
            transaction.discard()
            self.notes.append(f"baselines not updated: {len(self.failed) or 'some'} test(s) failed or "
                              f"the run stopped; {self.baselines} is exactly as it was")
            return True
        try:
            stage_update(transaction, self.runs, self.numerics)
            written = transaction.commit()
        except ValueError as err:  # the runs cannot make a baseline: nothing is written
            transaction.discard()
            self.notes.append(f"baselines not updated: {' '.join(str(err).split())}")
            return False
        self.notes.append(f"baselines updated: {len(written)} files ({', '.join(map(str, written))})")
        return True

    def plot(self, folder):
        """The plots of every reported run's seed 0, and of this process's timed steps."""
        from rnn_models.plots import plot_all

        results = {r.cell: r for r in self.runs if r.config.seed == 0}
        rows = [row for r in self.speed_results for row in r.plot_rows()]
        for path in plot_all(self.baselines, folder, results=results or None, speed_rows=rows or None):
            self.notes.append(f"plot written: {path}")

    def write_report(self, path, gate, exitstatus, workers=1):
        """Writes the run's page (``rnn_models.history.runpage``) and its data from this
        session's runs and verdicts, as data; returns the page's path."""
        from rnn_models.history.rundata import run_data
        from rnn_models.history.runpage import write_run_page
        from rnn_models.suite.matrix import matrix_budget

        data = run_data(runs=[r.to_dict() for r in self.runs], accuracy=[o.to_dict() for o in self.accuracy.values()],
                        budget=matrix_budget(self.runs) if self.runs else None,
                        speed=[o.to_dict() for o in gate.outcomes] if gate is not None else [],
                        thresholds=gate.thresholds_info() if gate is not None else None,
                        failed=self.failed, exitstatus=exitstatus,
                        notes=self.notes + (gate.notes if gate is not None else []), baselines=self.baselines,
                        session_wall_s=time.perf_counter() - self.started, workers=workers)
        return write_run_page(path, data)

    def summary(self, workers=1, gate=None):
        """``[(section title or None, text)]`` for the terminal summary."""
        from rnn_models.suite.matrix import format_budget, matrix_budget

        out = []
        if self.runs:
            elapsed = time.perf_counter() - self.started
            out.append((None, format_budget(matrix_budget(self.runs), elapsed, workers)))
        for outcome in self.accuracy.values():  # an identical run: its one line, no looks to show
            text = outcome.line() if outcome.verdict == "identical" else outcome.table()
            out.append(("rnnbench accuracy gate", text))
        if gate is not None and gate.outcomes:
            out.append(("rnnbench speed gate", gate.table()))
        for note in self.notes + (gate.notes if gate is not None else []):
            out.append((None, f"rnnbench: {note}"))
        return out
