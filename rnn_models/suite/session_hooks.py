"""The hooks of a suite session's controller (registered by ``rnn_models.suite.plugin`` in a
session that runs the suite): each test's report handed to the session
(``rnn_models.suite.session``), and at the end the update's commit, the speed summary file, the
plots, the run's page and the terminal summary, each rendered from the verdicts' data; and
pytest-benchmark's storage, wrapped."""

import pytest

from rnn_models.machine import interrupts
from rnn_models.suite.plugin_state import SESSION, SPEED_GATE, TRANSACTION


class SessionHooks:
    """On the controller of a session that runs the suite: hands each report to the session
    (``rnn_models.suite.session``), and at the end the update's commit, the summary file, the
    plots, the run's page and the terminal summary, each rendered from the verdicts' data."""

    def __init__(self, config):
        self.config, self.session = config, config.stash[SESSION]

    def pytest_runtest_logreport(self, report):
        self.session.take(report.nodeid, report.failed, report.when, report.user_properties)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        yield
        if interrupts.stop_received() and not item.session.shouldstop:
            # The signal's KeyboardInterrupt was caught on its way: the session still stops here.
            item.session.shouldstop = f"stopped by {interrupts.describe()}"

    def pytest_sessionstart(self, session):
        wrap_storage(self.config, getattr(self.config, "_benchmarksession", None))

    def pytest_sessionfinish(self, session, exitstatus):
        """After pytest-benchmark staged its save: the update's commit, the summary file."""
        config = self.config
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.session.stopped()
        gate = config.stash.get(SPEED_GATE, None)
        summary = config.getoption("--speed-summary")
        if gate is not None and summary:
            from rnn_models.records.atomic import write_bytes_atomic

            write_bytes_atomic(summary, gate.table(markdown=True).encode())
        transaction = config.stash.get(TRANSACTION, None)
        if transaction is not None and not self.session.commit_update(transaction, passed=exitstatus == 0):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if config.getoption("--plots"):
            self.session.plot(config.getoption("--plots"))

    def pytest_terminal_summary(self, terminalreporter, exitstatus):
        workers = getattr(self.config.option, "numprocesses", None) or 1
        report = self.config.getoption("--report")
        if report:  # the run's page, from the same data as the summary below
            try:
                path = self.session.write_report(report, self.config.stash.get(SPEED_GATE, None), exitstatus, workers)
                self.session.notes.append(f"run page written: {path} (its data: {path.with_suffix('.json')})")
            except OSError as err:
                self.session.notes.append(f"run page not written: {' '.join(str(err).split())}")
        section = None
        for title, text in self.session.summary(workers, self.config.stash.get(SPEED_GATE, None)):
            if title and title != section:
                terminalreporter.section(title)
            section = title
            terminalreporter.write_line(text)


def wrap_storage(config, benchmarksession):
    """pytest-benchmark's storage, wrapped once in ``AtomicStorage`` (an atomic save, staged
    into an update, and a ``location`` that works for a folder outside the working
    directory). pytest-benchmark has no storage hook, so it is swapped on its session."""
    from rnn_models.records.speed_runs import AtomicStorage

    if benchmarksession is not None and not isinstance(benchmarksession.storage, AtomicStorage):
        benchmarksession.storage = AtomicStorage(benchmarksession.storage, config.stash.get(TRANSACTION, None))
