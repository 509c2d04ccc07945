"""The suite's training runs, pytest-free: each cell's suite run (``rnn_models.suite.matrix``) by seed,
trained once per process through one executor (``rnn_models.executors``) and kept for the
process's life, so a cell's accuracy, budget and no-NaN checks share its runs."""

import threading

from rnn_models.suite.matrix import matrix_config


class MatrixRuns:
    """``run(cell, seed)`` and ``runs(cell, seeds)`` -> RunResults of the suite's config.

    ``open_executor()`` starts the executor at the first run; ``close()`` ends it (a later
    run starts it again). ``planned``: the cells whose seed 0 this process will need; the
    first request for one of them trains all their seed-0 runs side by side, or ``start()``
    trains them in a background thread while tests that need no run go on. ``while_waiting``
    (a callable, or None): what this process does, once, when a request must wait for that
    batch, in the time its last runs leave a core free."""

    def __init__(self, open_executor, epochs=None, planned=()):
        self._open, self.epochs, self.planned = open_executor, epochs, list(planned)
        self.executor = None
        self.results = {}  # (cell, seed) -> RunResult
        self._background = None  # the thread training the planned runs, after start()
        self._stop = threading.Event()
        self._failure = None  # what the background batch raised, for the next request
        self.while_waiting = None

    def config(self, cell, seed):
        base = matrix_config(cell) if self.epochs is None else matrix_config(cell, self.epochs)
        return base.replace(seed=seed)

    def _train(self, keys, stop=None):
        if self.executor is None:
            self.executor = self._open()
        configs = [self.config(c, s) for c, s in keys]
        for key, result in zip(keys, self.executor.run(configs, stop=stop)):
            self.results[key] = result

    def _planned_todo(self):
        return [(c, 0) for c in self.planned if (c, 0) not in self.results]

    def start(self):
        """Trains the planned seed-0 runs in a background thread (its executor's processes do
        the work); the next request for any run waits for them, and gets their error if the
        batch failed."""
        keys = self._planned_todo()
        if self._background is not None or not keys:
            return
        self.executor = self.executor or self._open()  # opened here: a failure to start is the caller's

        def train():
            try:
                self._train(keys, stop=self._stop)
            except BaseException as err:  # handed to the next request (_join)
                self._failure = err

        self._background = threading.Thread(target=train, name="rnnbench-matrix", daemon=True)
        self._background.start()

    def _join(self):
        if self._background is None:
            return
        if self._background.is_alive() and self.while_waiting is not None:
            task, self.while_waiting = self.while_waiting, None
            task()
        self._background.join()
        self._background, failure, self._failure = None, self._failure, None
        if failure is not None:
            raise failure

    def run(self, cell, seed=0):
        self._join()
        key = (cell, seed)
        if key not in self.results:
            todo = self._planned_todo()  # a planned seed 0 brings every untrained one with it
            self._train(todo if key in todo else [key])
        return self.results[key]

    def runs(self, cell, seeds):
        self._join()
        todo = [(cell, s) for s in seeds if (cell, s) not in self.results]
        if len(todo) > 1:
            self._train(todo)
        return [self.run(cell, seed) for seed in seeds]

    def close(self):
        """Stops a background batch (its runs are stopped within a poll period) and ends the
        executor."""
        if self._background is not None:
            self._stop.set()
            self._background.join()
            self._background = self._failure = None
            self._stop.clear()
        if self.executor is not None:
            self.executor.close()
            self.executor = None
