"""The A/B worker: one long-lived process per side, timing that side's compiled steps.

Run as a script, ``python worker.py``, with the side's checkout first on ``PYTHONPATH`` and
as the working directory, so ``import rnn_models`` is that side's code. This file itself
therefore imports nothing from ``rnn_models`` but the step contract, and only the
standard library and NumPy otherwise.

Protocol: one JSON object per line each way, a reply for every request, in order.

- ``{"op": "hello"}`` -> ``{"ok": true, "pid", "rnn_models": path, "api", "versions"}``
- ``{"op": "pin", "slot": k}`` -> ``{"ok": true, "core": c or null}``: every thread of the
  worker on one core, the ``k``-th usable one (modulo their count); sent before TensorFlow sizes
  its thread pools, it has them sized for one core, and sent again later, it moves them too;
  ``null`` where affinity cannot be set
- ``{"op": "build", "key", "cell", "phase", "device", "batch": npz path}`` ->
  ``{"ok": true, "kernel_path", "loss", "step_s"}`` (the step is warm afterwards)
- ``{"op": "time", "key", "steps", "slowdown"}`` -> ``{"ok": true, "times": [s, ...]}``;
  ``slowdown`` (calibration only) stretches each step to ``(1 + slowdown)`` times its
  measured duration by spinning, inside the timed interval
- ``{"op": "drop", "key"}`` -> ``{"ok": true}``
- ``{"op": "exit"}`` -> ``{"ok": true}``, then the process ends

A failed request answers ``{"ok": false, "error": "one line"}`` and the worker carries on.
"""

import gc
import json
import os
import sys
import time
import traceback


def _private_stdout():
    """The protocol keeps the real stdout; anything else printed goes to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return protocol


def _versions():
    import keras
    import numpy
    import tensorflow

    return {"tensorflow": tensorflow.__version__, "keras": keras.__version__,
            "numpy": numpy.__version__, "python": sys.version.split()[0]}


class _LegacyStep:
    """The step of a checkout that predates ``rnn_models.speed.measure.build_step``, built
    from the API it had (``suite.speed_config``, ``model.build_model``, ``steps.make_step``)."""

    def __init__(self, cell, phase, device, x, y):
        import keras
        import tensorflow as tf
        from rnn_models.model import build_model
        from rnn_models.steps import make_step
        from rnn_models.suite import speed_config

        config = speed_config(cell)
        keras.utils.set_random_seed(config.seed)
        with tf.device(device):
            step = make_step(build_model(config), config, phase)
            tx, ty = tf.constant(x), tf.constant(y)

        def run():
            with tf.device(device):
                return float(step(tx, ty)[0])

        for _ in range(5):  # the warm-up count this API's benchmarks used
            run()
        self.run, self.kernel_path = run, "unknown (legacy API)"


def _builder():
    """``(api name, build(cell, phase, device, x, y) -> step with .run and .kernel_path)``."""
    try:
        from rnn_models.speed.measure import build_step
        return "rnn_models.speed.measure.build_step", build_step
    except ImportError:
        pass
    try:
        import rnn_models.steps as steps
        if hasattr(steps, "make_step"):
            return "legacy steps.make_step", _LegacyStep
    except ImportError:
        pass
    raise RuntimeError("this checkout has no step API the A/B worker knows "
                       "(rnn_models.speed.measure.build_step or rnn_models.steps.make_step)")


def _timed(run, steps, slowdown):
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        if slowdown:
            end = start + (time.perf_counter() - start) * (1.0 + slowdown)
            while time.perf_counter() < end:
                pass
        times.append(time.perf_counter() - start)
    return times


class Worker:
    def __init__(self):
        self.steps = {}
        self.api = self.build_fn = None
        # The cores a pin may choose from, read before any pin narrows this thread's own.
        self.usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    def hello(self, _request):
        import rnn_models

        self.api, self.build_fn = _builder()
        versions = _versions()
        # The imports' objects outlive every step: kept out of the collector's reach, each
        # drop's collection walks only the steps' objects (a tenth of the time).
        gc.freeze()
        return {"pid": os.getpid(), "rnn_models": os.path.dirname(rnn_models.__file__),
                "api": self.api, "versions": versions}

    def pin(self, request):
        if not self.usable or not hasattr(os, "sched_setaffinity"):
            return {"core": None}
        core = self.usable[int(request["slot"]) % len(self.usable)]
        try:
            threads = os.listdir("/proc/self/task")
        except OSError:  # no /proc: this thread alone, which starts TensorFlow's pools
            threads = ["0"]
        for tid in threads:
            try:
                os.sched_setaffinity(int(tid), {core})
            except ProcessLookupError:  # a thread that ended meanwhile
                pass
        return {"core": core}

    def build(self, request):
        import numpy as np

        with np.load(request["batch"]) as batch:
            x, y = batch["x"], batch["y"]
        step = self.build_fn(request["cell"], request["phase"], request["device"], x, y)
        loss = step.run()
        start = time.perf_counter()
        step.run()
        self.steps[request["key"]] = step
        return {"kernel_path": step.kernel_path, "loss": loss, "step_s": time.perf_counter() - start}

    def time(self, request):
        run = self.steps[request["key"]].run
        if "timing" in os.environ.get("RNN_MODELS_PAUSE_AT", "").split(","):
            # rnn_models.machine.interrupts' test seam, inline (this file imports no rnn_models): a
            # test stops the coordinator while its worker is busy with a time request.
            print("worker: paused at timing ($RNN_MODELS_PAUSE_AT)", file=sys.stderr, flush=True)
            time.sleep(5)
        return {"times": _timed(run, int(request["steps"]), float(request.get("slowdown") or 0.0))}

    def drop(self, request):
        self.steps.pop(request["key"], None)
        gc.collect()
        return {}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    protocol = _private_stdout()
    worker = Worker()
    handlers = {"hello": worker.hello, "pin": worker.pin, "build": worker.build, "time": worker.time,
                "drop": worker.drop}
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "exit":
            protocol.write(json.dumps({"ok": True}) + "\n")
            return 0
        try:
            if op not in handlers:
                raise ValueError(f"unknown op {op!r}; known: exit, {', '.join(handlers)}")
            reply = {"ok": True, **handlers[op](request)}
        except Exception as err:  # reported to the coordinator, which falls back
            traceback.print_exc(file=sys.stderr)
            reply = {"ok": False, "error": f"{type(err).__name__}: {' '.join(str(err).split())}"}
        protocol.write(json.dumps(reply) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
