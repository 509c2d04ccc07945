"""Where a compiled step's time goes: a ``tf.profiler`` trace, summed per op type.

The trace is also written for TensorBoard's profile tab. Times are the ops' own, summed
over TensorFlow's compute threads, so with 2 cores they can add up to more than the wall
time; tracing itself slows each op a little.
"""

import collections
import dataclasses
import tempfile
import time
from pathlib import Path

import tensorflow as tf

# Which part of the step an op belongs to, from the first part of its name scope.
PARTS = {"gradient_tape": "backward", "adam": "optimizer"}
FORWARD = "forward (model)"  # scopes named after the model, "<cell>_classifier"
# Traced "name:Type" events that are not graph ops: Eigen's work-sharing inside an op
# (counting it would count that op twice) and eager handle clean-up.
NOT_OPS = {"ParallelFor", "TFE_DeleteTensorHandle"}


@dataclasses.dataclass(frozen=True)
class OpTime:
    """One op type (or one part of the step): calls and ms per profiled step."""

    name: str
    calls_per_step: float
    ms_per_step: float


@dataclasses.dataclass(frozen=True)
class Profile:
    wall_ms_per_step: float
    ops: tuple[OpTime, ...]  # by op type, slowest first
    parts: tuple[OpTime, ...]  # forward / backward / optimizer / other
    logdir: str


def _xspace(logdir):
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError as err:  # an internal module: say so if a TF release moves it
        raise RuntimeError(f"This TensorFlow has no XPlane protobuf module to read "
                           f"traces with ({err}); open {logdir} in TensorBoard instead.") from err
    paths = sorted(Path(logdir).rglob("*.xplane.pb"))
    if not paths:
        raise RuntimeError(f"tf.profiler wrote no trace under {logdir}.")
    space = xplane_pb2.XSpace()
    space.ParseFromString(paths[-1].read_bytes())
    return space


def _part(op_name):
    scope = op_name.split("/", 1)[0].rstrip("_0123456789")  # "adam_1" -> "adam"
    if scope.endswith("_classifier"):
        return FORWARD
    return PARTS.get(scope, "other (loss, clipping, feeding)")


def _op(event_name):
    """``(op name, op type)`` of a traced TensorFlow op, or None for other events (the
    executor's and the thread pool's own, written ``Class::Method``)."""
    name, _, op_type = event_name.rpartition(":")
    if not name or name.endswith(":") or not op_type.isidentifier() or op_type in NOT_OPS:
        return None
    return name, op_type


def profile_step(step, steps=20, logdir=None):
    """Runs ``step()`` (already traced and warm) ``steps`` times under the profiler."""
    logdir = logdir or tempfile.mkdtemp(prefix="rnn_models_profile_")
    tf.profiler.experimental.start(logdir)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    wall = time.perf_counter() - started
    tf.profiler.experimental.stop()
    by_type = collections.defaultdict(lambda: [0, 0])
    by_part = collections.defaultdict(lambda: [0, 0])
    for plane in _xspace(logdir).planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                op = _op(names.get(event.metadata_id, ""))
                if op is None:
                    continue
                name, op_type = op
                for key, table in ((op_type, by_type), (_part(name), by_part)):
                    table[key][0] += 1
                    table[key][1] += event.duration_ps
    return Profile(wall * 1e3 / steps, _rows(by_type, steps), _rows(by_part, steps), logdir)


def _rows(table, steps):
    rows = (OpTime(key, calls / steps, ps / 1e9 / steps) for key, (calls, ps) in table.items())
    return tuple(sorted(rows, key=lambda row: -row.ms_per_step))


def format_profile(profile, top=15):
    total = sum(row.ms_per_step for row in profile.ops) or 1.0
    lines = [f"wall {profile.wall_ms_per_step:.2f} ms/step under the profiler; "
             f"op time {total:.2f} ms/step summed over threads; trace in {profile.logdir}",
             f"{'part / op type':36} {'calls/step':>10} {'ms/step':>9} {'share':>6}"]
    for row in profile.parts + (None,) + profile.ops[:top]:
        if row is None:
            lines.append("-" * 64)
            continue
        lines.append(f"{row.name:36} {row.calls_per_step:10.1f} {row.ms_per_step:9.3f} "
                     f"{row.ms_per_step / total:6.1%}")
    return "\n".join(lines)
