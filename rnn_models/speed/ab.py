"""The same-run A/B: the current code and a baseline ref, each in its own long-lived worker
process, timed in alternation, never at the same time.

This process only coordinates (it loads no TensorFlow): it asks both workers to build a
step (in parallel, untimed; the suite's process builds its own meanwhile, ``start_build``),
then times single steps on one side and then the other,
the sides taking turns, in units of many such pairs, until
``rnn_models.regression.speed`` decides. Alternating whole blocks of steps instead left the
machine's drifts of a few hundred ms in each block's ratio (docs/decisions.md).

A session may hold several worker pairs, each unit timed by the next pair in turn: a process
has a speed of its own (where its memory and threads landed), and one pair's units all carry
that pair's bias, which more units do not shrink; more pairs do (docs/decisions.md).

The two sides are set up alike, so that only their code differs: each imports its checkout
through a link of the same length (equal environments and module paths, hence the same
memory layout), both checkouts' bytecode is compiled before either starts, the pairs take
turns at which side starts and builds first, and each pair alternates which side opens
its units. Fresh processes average a process's own speed away, not a bias that every
process of one side shares (docs/decisions.md).

The two workers of a pair share one core while they are timed, and the pairs take the usable
cores in turn: each worker is pinned to one core before TensorFlow sizes its thread pools. A
worker free to use every core hands its step between threads that land on either core, and
where they land sets its speed for seconds at a time, up to 10% apart in one pair; on one core
both sides of a pair run alike. The A/B so compares the code's single-core speed; the suite's
own timings keep every core (docs/decisions.md). While they build and drop a step, the workers
take the cores one by one instead, so that each core builds as many steps.
"""

import compileall
import contextlib
import dataclasses
import json
import math
import os
import select
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from rnn_models.config import TUTORIAL
from rnn_models.regression.speed import decide, decide_sequentially, next_look

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
BUILD_TIMEOUT_S = 900  # an XLA compile on a slow machine
TIME_TIMEOUT_S = 300
MIN_UNIT_STEPS, MAX_UNIT_STEPS = 6, 400  # step pairs in one sample (unit)
# Versions that must agree between the sides for the A/B to measure the code alone.
CHECKED_VERSIONS = ("tensorflow", "keras", "numpy", "python")
SIDE_LINKS = {"current": "new", "baseline": "old"}  # names of one length: equal paths on both sides
# Where the workers are timed, as calibrations record it (a calibration measured otherwise lacks it).
PLACEMENT = "the two workers of each pair share one core; the pairs take the usable cores in turn"
# Where they build and drop steps: the timed placement would give one core two pairs' builds of three.
BUILD_PLACEMENT = "each worker on one core; the workers take the usable cores in turn, in start order"


def real_batch(data=None, n=TUTORIAL.batch_size):
    """The batch speed steps are timed on (the A/B's and the suite's): the first ``n``
    training rows of the real MNIST, as x [n, 28, 28] float32, y [n] int32. ``data``: the
    tutorial's ``SequenceData`` already prepared, or a file or folder of MNIST (None: the
    default places)."""
    from rnn_models.data import SequenceData, load_mnist, prepare

    split = data if isinstance(data, SequenceData) else prepare(load_mnist(data))
    return split.inputs(split.pixels_train[:n]), split.y_train[:n]


class ABUnavailable(Exception):
    """The A/B cannot run (a worker failed, the sides' libraries differ); one-line message.
    ``side`` names the worker at fault (``current`` or ``baseline``), None when neither alone is."""

    def __init__(self, message, side=None):
        super().__init__(message)
        self.side = side


class WorkerProcess:
    """One side's worker: JSON lines over its stdin/stdout, its stderr kept in a log file."""

    def __init__(self, name, root, log_dir, log_name=None):
        self.name, self.root = name, Path(root)
        self.log_path = Path(log_dir) / f"worker-{log_name or name}.log"
        env = {k: v for k, v in os.environ.items()
               if k not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["PYTHONUNBUFFERED"] = "1"
        self._log = open(self.log_path, "w")
        self._exit_sent = False
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)], cwd=self.root, env=env, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            preexec_fn=_all_cores if hasattr(os, "sched_setaffinity") else None)

    def send(self, request):
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._failure(f"{request['op']}: the worker is gone") from None

    def receive(self, op, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            why = "no answer in {:.0f} s".format(timeout) if not ready else "the worker exited"
            self.kill()
            raise self._failure(f"{op}: {why}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise self._failure(f"{op}: {reply.get('error', 'failed')}")
        return reply

    def request(self, request, timeout):
        self.send(request)
        return self.receive(request["op"], timeout)

    def _failure(self, message):
        tail = ""
        try:
            lines = [line for line in self.log_path.read_text().splitlines() if line.strip()]
            tail = f" (last log line: {lines[-1].strip()})" if lines else ""
        except OSError:
            pass
        return ABUnavailable(f"{self.name} worker: {message}{tail}; log {self.log_path}", self.name)

    def ask_to_exit(self):
        """Sends ``exit`` without waiting for it, so that several workers end at the same time
        (a TensorFlow process takes about a second to exit); ``close()`` then waits."""
        if self.process.poll() is None and not self._exit_sent:
            try:
                self.send({"op": "exit"})
                self._exit_sent = True
            except ABUnavailable:
                pass

    def close(self):
        if self.process.poll() is None:
            try:
                self.ask_to_exit()
                if self._exit_sent:
                    self.receive("exit", timeout=30)
                self.process.wait(timeout=30)
            except (ABUnavailable, subprocess.TimeoutExpired):
                pass
        self.kill()
        self._log.close()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _all_cores():
    """A worker may use every core even if this process was pinned (e.g. by pytest-xdist)."""
    os.sched_setaffinity(0, range(os.cpu_count() or 1))


def even_roots(roots, folder):
    """``{side: root}`` -> ``{side: path}``: each side's checkout behind a link of the same
    length in a fresh folder under ``folder``, so that the two workers' environments and module
    paths are the same size; each checkout's bytecode compiled first, so neither side compiles
    while it imports. Where links cannot be made, the roots themselves."""
    resolved = {side: Path(root).resolve() for side, root in roots.items()}
    for root in set(resolved.values()):
        compileall.compile_dir(str(root / "rnn_models"), quiet=2)
    links = Path(tempfile.mkdtemp(prefix="sides-", dir=folder))
    try:
        for side, root in resolved.items():
            (links / SIDE_LINKS[side]).symlink_to(root, target_is_directory=True)
    except OSError:
        return {side: Path(root) for side, root in roots.items()}
    return {side: links / SIDE_LINKS[side] for side in roots}


def unit_steps(block_s, step_s):
    """Step pairs in one unit: ``block_s`` seconds of one side's ``step_s`` steps, within bounds."""
    return int(min(MAX_UNIT_STEPS, max(MIN_UNIT_STEPS, round(block_s / step_s))))


def check_versions(hello):
    """Both sides must run on the same libraries, or the A/B would time those too. ``hello``:
    each side's reply to ``hello``, by side."""
    current, baseline = (hello[n]["versions"] for n in ("current", "baseline"))
    differing = [f"{k} {baseline.get(k)} (baseline) vs {current.get(k)} (current)"
                 for k in CHECKED_VERSIONS if current.get(k) != baseline.get(k)]
    if differing:
        raise ABUnavailable(f"the two sides load different libraries: {'; '.join(differing)}")


@dataclasses.dataclass(frozen=True)
class ABResult:
    """One gated step's A/B: its units' log ratios and the decision on them."""

    cell: str
    phase: str
    device: str
    decision: object  # rnn_models.regression.speed.Decision
    log_ratios: tuple[float, ...]
    unit_steps: int  # step pairs per unit
    current_median_s: float
    baseline_median_s: float
    kernel_paths: dict
    worker_pairs: int = 1  # the pairs of worker processes the units came from, in turn
    sessions: tuple = ()  # when it pools fresh workers' retimes: each one's own units, in order

    @property
    def verdict(self):
        return self.decision.verdict



@dataclasses.dataclass
class PendingBuild:
    """A step whose build ``ABSession.start_build`` sent: the step, its key, the requests by
    side for each pair, and, once received, the replies."""

    step: tuple  # (cell, phase, device)
    key: str
    sent: list
    replies: list | None = None


class ABSession:
    """``pairs`` pairs of workers, ``current`` and ``baseline``, over the checkouts at the two
    roots (default: the thresholds' ``pairs``, as calibrated); all started at once, and each
    unit timed by the next pair in turn. ``start_worker(name, root, log_dir, log_name)`` starts
    one side's worker (a test's stand-in speaks the same requests). ``pin_cores``: each pair's
    two workers on one core while timed (``PLACEMENT``, kept in ``cores``), and on the cores in
    turn while building (``BUILD_PLACEMENT``); False leaves them every core, as before, for
    ``tools/measure_placement.py`` to compare."""

    def __init__(self, current_root, baseline_root, batch, thresholds, log_dir=None, pairs=None,
                 start_worker=WorkerProcess, pin_cores=True):
        pairs = getattr(thresholds, "pairs", 1) if pairs is None else pairs
        if pairs < 1:
            raise ValueError(f"an A/B needs at least 1 pair of workers, got {pairs}")
        self.thresholds = thresholds
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="rnnbench-ab-logs-"))
        self.batch_path = self.log_dir / "batch.npz"
        np.savez(self.batch_path, x=batch[0], y=batch[1])
        self.pairs = []  # [{"current": WorkerProcess, "baseline": WorkerProcess}, ...], in start order
        self._keys, self.pin_cores, self.cores = 0, pin_cores, None
        self._pending = None  # the PendingBuild that start_build sent
        roots = list(even_roots({"current": current_root, "baseline": baseline_root}, self.log_dir).items())
        try:
            for k in range(pairs):
                tag = "" if pairs == 1 else f"-{k + 1}"
                order = roots if k % 2 == 0 else roots[::-1]  # every request reaches this side first
                self.pairs.append({name: start_worker(name, root, self.log_dir, name + tag)
                                   for name, root in order})
            hellos = self._all({"op": "hello"}, BUILD_TIMEOUT_S)
            self.hello = hellos[0]
            for workers, hello in zip(self.pairs, hellos):
                self.check_sources(workers, hello)
            check_versions(self.hello)
            self._pin(timed=False)  # after hello imported TensorFlow, before any op sized its pools
        except BaseException:
            self.close()
            raise

    def _pin(self, timed):
        """Every worker onto one core: ``timed``, each pair's two onto the pair's core
        (``PLACEMENT``), else the workers onto the cores in turn (``BUILD_PLACEMENT``). Each
        pair's cores, by side (None where affinity cannot be set); nothing without ``pin_cores``."""
        if not self.pin_cores:
            return None
        def slot(k, name):  # the workers' start order is the pairs' dicts' order
            return k if timed else 2 * k + list(self.pairs[k]).index(name)
        pinned = self._all(lambda k, name: {"op": "pin", "slot": slot(k, name)}, TIME_TIMEOUT_S)
        return [{name: reply.get("core") for name, reply in replies.items()} for replies in pinned]

    def start_build(self, cell, phase, device):
        """Sends the step's build to every worker and returns at once, so that this process
        can build its own copy meanwhile; the step's next ``compare`` (or ``built``) takes
        their replies, and ``wait_built`` waits for them. Nothing may be timed while they
        build. A step started and never compared is dropped when the next one starts."""
        self.discard_build()
        self._keys += 1
        key = f"{cell}-{phase}-{device}-{self._keys}"
        self._pending = PendingBuild((cell, phase, device), key, self._send(
            {"op": "build", "key": key, "cell": cell, "phase": phase, "device": device,
             "batch": str(self.batch_path)}))

    def wait_built(self):
        """Returns once every worker has built the step ``start_build`` sent (at once if none)."""
        if self._pending is not None and self._pending.replies is None:
            self._pending.replies = self._receive(self._pending.sent, BUILD_TIMEOUT_S)

    def discard_build(self):
        """Drops a step that ``start_build`` sent and no ``compare`` took."""
        pending, self._pending = self._pending, None
        if pending is not None:
            if pending.replies is None:
                self._receive(pending.sent, BUILD_TIMEOUT_S)
            self._all({"op": "drop", "key": pending.key}, TIME_TIMEOUT_S)

    @contextlib.contextmanager
    def built(self, cell, phase, device):
        """``(key, replies)``: one step built by every worker (in parallel, untimed; sent by
        ``start_build`` or here), each pair's build replies; the workers in their timed
        placement inside the block, then back and the step dropped."""
        if self._pending is None or self._pending.step != (cell, phase, device):
            self.start_build(cell, phase, device)
        self.wait_built()
        pending, self._pending = self._pending, None
        try:
            self.cores = self._pin(timed=True)
            yield pending.key, pending.replies
        finally:
            self._pin(timed=False)
            self._all({"op": "drop", "key": pending.key}, TIME_TIMEOUT_S)

    @staticmethod
    def check_sources(workers, hello):
        """Each side must run its own checkout's code, not an installed copy of the other's."""
        for name, worker in workers.items():
            loaded = Path(hello[name]["rnn_models"]).resolve()
            expected = (worker.root / "rnn_models").resolve()
            if loaded != expected:
                raise ABUnavailable(f"the {name} worker imported rnn_models from {loaded}, not from "
                                    f"its checkout {expected}", name)

    def _send(self, request):
        """One request to every worker at once (or ``request(k, side)``, each its own), not
        waiting: each pair's requests, by side, for ``_receive``."""
        ask = request if callable(request) else lambda k, name: request
        sent = [{name: ask(k, name) for name in pair} for k, pair in enumerate(self.pairs)]
        for pair, requests in zip(self.pairs, sent):
            for name, worker in pair.items():
                worker.send(requests[name])
        return sent

    def _receive(self, sent, timeout):
        """The replies to ``_send``'s requests, by side, for each pair."""
        return [{name: worker.receive(requests[name]["op"], timeout) for name, worker in pair.items()}
                for pair, requests in zip(self.pairs, sent)]

    def _all(self, request, timeout):
        """``_send`` and ``_receive``: one request to every worker at once, and their replies."""
        return self._receive(self._send(request), timeout)

    def compare(self, cell, phase, device, family_size, slowdown=0.0, exhaust=False, settled=None):
        """The A/B of one step. ``slowdown`` (calibration only) stretches the current side's
        steps by that fraction; ``exhaust`` takes every look's units without stopping early;
        ``settled(decision)`` says when a look's decision ends the A/B (default: a verdict
        other than inconclusive)."""
        settled = settled or (lambda decision: decision.verdict != "inconclusive")
        with self.built(cell, phase, device) as (key, built):
            step_s = self._uncontended_step_s(key)
            steps = unit_steps(self.thresholds.block_s, step_s)
            d, times = [], {"current": [], "baseline": []}
            decision, target = None, self.thresholds.looks[0]
            while target is not None:
                while len(d) < target:
                    rounds, pair = divmod(len(d), len(self.pairs))
                    d.append(self._unit(self.pairs[pair], key, steps, slowdown, times,
                                        current_first=(rounds + pair) % 2 == 0))
                decision = decide(d, self.thresholds, family_size)
                if settled(decision) and not exhaust:
                    break
                target = next_look(len(d), self.thresholds)
            if exhaust:
                decision = decide_sequentially(d, self.thresholds, family_size)
        return ABResult(cell, phase, device, decision, tuple(d), steps,
                        statistics.median(times["current"]), statistics.median(times["baseline"]),
                        {name: reply["kernel_path"] for name, reply in built[0].items()}, len(self.pairs))

    def _uncontended_step_s(self, key, steps=3):
        """The slower side's median step, timed by the first pair alone: the steps each worker
        timed while building shared the cores with the other workers' builds and this process's."""
        return max(statistics.median(self.pairs[0][name].request(
            {"op": "time", "key": key, "steps": steps, "slowdown": 0.0}, TIME_TIMEOUT_S)["times"])
            for name in ("current", "baseline"))

    def _unit(self, workers, key, steps, slowdown, times, current_first):
        """One sample: ``steps`` pairs of single steps, the two sides taking turns (ABAB...), so
        the machine's slow drifts hit both sides of each pair alike and neither side is timed
        right after itself (a side timed twice in a row runs about 10% faster on its warm
        caches: docs/decisions.md); its value is the median of the pairs' log ratios. The
        caller alternates ``current_first`` over each pair's units and between neighbouring
        pairs, so both sides open as often in every pair."""
        order = ("current", "baseline") if current_first else ("baseline", "current")
        ratios = []
        for _ in range(steps):
            pair = {}
            for name in order:
                reply = workers[name].request(
                    {"op": "time", "key": key, "steps": 1,
                     "slowdown": slowdown if name == "current" else 0.0}, TIME_TIMEOUT_S)
                pair[name] = reply["times"][0]
            ratios.append(math.log(pair["current"] / pair["baseline"]))
            for name in times:
                times[name].append(pair[name])
        return statistics.median(ratios)

    def close(self):
        workers = [worker for pair in self.pairs for worker in pair.values()]
        for worker in workers:  # every worker told first: they exit side by side
            worker.ask_to_exit()
        for worker in workers:
            worker.close()
        self.pairs = []
