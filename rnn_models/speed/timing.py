"""Timing helpers that pytest-benchmark does not cover: a side-by-side ratio of two steps
over alternating rounds, and the matmul throughput that bounds a step from below."""

import statistics
import time

# Untimed calls before any timing: the first traces and compiles, a few more settle the
# allocator. Every timed step in the project (suite, A/B worker, profiler) uses this count.
WARMUP_STEPS = 5


def time_rounds(fn, rounds):
    """``rounds`` wall times of ``fn()``, in seconds: the project's one timing loop (the A/B
    worker keeps its own, as it runs against another checkout's ``rnn_models``)."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _timed(fn):
    return time_rounds(fn, 1)[0]


def alternating_ratio(fn, reference, rounds=30):
    """Median over ``rounds`` of ``time(fn) / time(reference)``, the two timed back to back
    in alternating order, so that machine noise (another process, frequency changes) hits
    both sides of each ratio alike. Returns ``(ratio, median fn s, median reference s)``."""
    ratios, own, ref = [], [], []
    for k in range(rounds):
        if k % 2:
            b, a = _timed(reference), _timed(fn)
        else:
            a, b = _timed(fn), _timed(reference)
        own.append(a)
        ref.append(b)
        ratios.append(a / b)
    return statistics.median(ratios), statistics.median(own), statistics.median(ref)


def matmul_rate(m, k, n, device="CPU:0", rounds=40):
    """Achieved matmul FLOP/s for ``[m, k] @ [k, n]`` float32 on ``device`` (median)."""
    import tensorflow as tf

    with tf.device(device):
        a = tf.random.stateless_uniform((m, k), seed=(1, 2))
        b = tf.random.stateless_uniform((k, n), seed=(3, 4))

        @tf.function
        def product():
            return tf.reduce_sum(tf.matmul(a, b))  # a scalar to read back: a cheap sync

        for _ in range(WARMUP_STEPS):
            float(product())
        seconds = statistics.median(_timed(lambda: float(product())) for _ in range(rounds))
    return 2.0 * m * k * n / seconds
