"""The suite's training runs, pytest-free: each cell's suite run (``rnn_models.suite.matrix``) by seed,
trained once per process through one executor (``rnn_models.executors``) and kept for the
process's life, so a cell's accuracy, budget and no-NaN checks share its runs."""

from rnn_models.suite.matrix import matrix_config


class MatrixRuns:
    """``run(cell, seed)`` and ``runs(cell, seeds)`` -> RunResults of the suite's config.

    ``open_executor()`` starts the executor at the first run; ``close()`` ends it (a later
    run starts it again). ``planned``: the cells whose seed 0 this process will need; the
    first request for one of them trains all their seed-0 runs side by side."""

    def __init__(self, open_executor, epochs=None, planned=()):
        self._open, self.epochs, self.planned = open_executor, epochs, list(planned)
        self.executor = None
        self.results = {}  # (cell, seed) -> RunResult

    def config(self, cell, seed):
        base = matrix_config(cell) if self.epochs is None else matrix_config(cell, self.epochs)
        return base.replace(seed=seed)

    def _train(self, keys):
        if self.executor is None:
            self.executor = self._open()
        for key, result in zip(keys, self.executor.run([self.config(c, s) for c, s in keys])):
            self.results[key] = result

    def run(self, cell, seed=0):
        key = (cell, seed)
        if key not in self.results:
            planned = [c for c in self.planned if (c, 0) not in self.results]
            self._train([(c, 0) for c in planned] if seed == 0 and cell in planned else [key])
        return self.results[key]

    def runs(self, cell, seeds):
        todo = [(cell, s) for s in seeds if (cell, s) not in self.results]
        if len(todo) > 1:
            self._train(todo)
        return [self.run(cell, seed) for seed in seeds]

    def close(self):
        if self.executor is not None:
            self.executor.close()
            self.executor = None
