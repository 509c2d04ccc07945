"""Progress of a run: the tutorial's log lines, and a progress bar on a terminal."""

import sys


class ConsoleProgress:
    """Prints log lines to ``stream``; draws a Keras ``Progbar`` per epoch when ``stream``
    is a terminal. ``enabled=False`` makes it silent (library default)."""

    def __init__(self, enabled=True, stream=None, bar=None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.bar_wanted = self.stream.isatty() if bar is None else bar
        self._bar = None
        self._first_step = 0

    def start_epoch(self, epoch, steps):
        if self.enabled and self.bar_wanted:
            self.line(f"epoch {epoch}")
            import keras  # only for the bar on a terminal

            self._bar = keras.utils.Progbar(steps, stateful_metrics=["loss"])
            self._first_step = None

    def update(self, step, loss):
        if self._bar is not None:
            if self._first_step is None:
                self._first_step = step - 1
            self._bar.update(step - self._first_step, values=[("loss", loss)])

    def line(self, text):
        if self.enabled:
            if self._bar is not None:
                self.stream.write("\n")
            print(text, file=self.stream, flush=True)
