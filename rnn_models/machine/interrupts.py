"""SIGTERM handled as Ctrl-C is.

CI systems stop a job with SIGTERM (some send SIGINT first, then SIGTERM). Inside
``handle_stop_signals()`` either signal raises ``KeyboardInterrupt`` in the main thread, so
every Ctrl-C path runs for both: partial results are written, worker processes and git
worktrees are removed in their ``finally``, an update's transaction is discarded. A second
signal while that cleanup runs is noted, not raised, so the cleanup is not cut short (SIGKILL
still stops the process).

Exit codes: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, the shell's 128 + signal number.
"""

import contextlib
import os
import signal
import sys
import threading
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received = []  # the stop signals received inside the current block, in order
# A test seam: a command announces itself and waits at the phases this names (comma-separated),
# so a test can send its signal in that phase (tests/integration/test_bad_inputs_checkouts.py).
PAUSE_ENV = "RNN_MODELS_PAUSE_AT"
PAUSE_S = 60.0


class Stopped(KeyboardInterrupt):
    """The first stop signal, raised in the main thread; ``signum`` names it."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _on_signal(signum, _frame):
    _received.append(signum)
    if len(_received) == 1:
        raise Stopped(signum)


def install():
    """Installs the handler for SIGINT and SIGTERM; returns what ``restore`` needs. Does
    nothing outside the main thread (signals are delivered there only)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    _received.clear()
    return {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}


def restore(previous):
    if previous is not None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    _received.clear()


@contextlib.contextmanager
def handle_stop_signals():
    previous = install()
    try:
        yield
    finally:
        restore(previous)


def stop_received():
    """True once a stop signal arrived inside the current block, even if the KeyboardInterrupt
    it raised was caught on its way (by a library, or a test) and the program went on."""
    return bool(_received)


def received():
    """The first stop signal received (a ``signal.Signals``), SIGINT when none was: a
    KeyboardInterrupt raised without a signal, as by a test, counts as Ctrl-C."""
    return signal.Signals(_received[0]) if _received else signal.SIGINT


def exit_code():
    """130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + int(received())


def describe():
    """``Ctrl-C`` or ``SIGTERM``, for the one line a stopped command prints."""
    return "Ctrl-C" if received() == signal.SIGINT else received().name


def pause_point(phase, command):
    """The seam's pause: when ``$RNN_MODELS_PAUSE_AT`` names ``phase``, prints ``<command>:
    paused at <phase>`` on stderr and sleeps up to ``PAUSE_S`` (a stop signal ends it).
    Nothing otherwise."""
    if phase in os.environ.get(PAUSE_ENV, "").split(","):
        print(f"{command}: paused at {phase} (${PAUSE_ENV})", file=sys.stderr, flush=True)
        time.sleep(PAUSE_S)
