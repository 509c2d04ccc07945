"""Batches of in-memory sequence data, one NumPy gather per step.

A NumPy gather costs a step less than an eager ``tf.gather`` or the ``tf.data`` pipeline
it replaced, and gathering uint8 pixels then converting them costs what gathering a float32
split did, at a quarter of the memory (docs/decisions.md). The step call turns the arrays
into tensors, as TF1's ``feed_dict`` did, so that copy is part of a step's sec/iter.
"""

from __future__ import annotations

import numpy as np


def _check_arrays(x, y, batch_size, transform):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    x = np.ascontiguousarray(x) if transform else np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int32)
    if x.ndim != 3:
        raise ValueError(f"x must be [N, T, F]; got shape {x.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be [N]; got shape {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got len(x)={len(x)}, "
                         f"len(y)={len(y)}")
    return x, y


class Batches:
    """``epoch(k)`` yields ``(x [B, T, F] float32, y [B] int32)`` arrays, full batches only.

    ``x`` is kept as given (e.g. uint8 pixels) when ``transform`` is set, and each batch
    is ``transform(x[batch])``, e.g. ``SequenceData.inputs``; else it is held as float32.

    With ``shuffle`` the order of epoch ``k`` is a permutation drawn from ``(seed, k)``:
    the same seed gives the same orders, epochs differ, and an epoch's order does not
    depend on how many epochs ran before it. Without, the data's own order.
    """

    def __init__(self, x, y, *, batch_size, shuffle, seed=0, transform=None):
        self.x, self.y = _check_arrays(x, y, batch_size, transform)
        self.transform = transform
        self.batch_size, self.shuffle, self.seed = int(batch_size), bool(shuffle), int(seed)
        self.steps = len(self.x) // self.batch_size  # full batches per epoch

    def order(self, epoch):
        """The example indices of epoch ``epoch``, ``[steps, B]`` int64."""
        used = self.steps * self.batch_size
        if self.shuffle:
            indices = np.random.default_rng([self.seed, epoch]).permutation(len(self.x))[:used]
        else:
            indices = np.arange(used)
        return indices.reshape(self.steps, self.batch_size)

    def epoch(self, epoch, steps=None):
        """The first ``steps`` (default: all) batches of epoch ``epoch``."""
        order = self.order(epoch)[:steps]
        for index in order:
            x = self.x.take(index, axis=0)
            yield (self.transform(x) if self.transform else x), self.y.take(index, axis=0)
