"""How often a setup's very first train step already breaks, over fresh initialisations.

One seeded run can be lucky: the layer-norm cell's first gradient depends on its random
initial weights, and on MNIST's blank rows it can overflow float32 for some of them. A
sweep over seeds of one step each shows how fragile a setup is, cheaply.
"""

import math
import statistics

import keras
import numpy as np
import tensorflow as tf

from rnn_models.model import build_model
from rnn_models.steps import make_optimizer, make_train_step


def first_step_sweep(config, data, seeds):
    """For each seed: a fresh model, one train step on the first training batch.

    Returns ``{"seeds": [...], "nonfinite_seeds": [...], "grad_norm_median": float|None,
    "grad_norm_max": float|None}`` where a seed is non-finite when its global gradient
    norm or any gradient is not finite (a norm that overflows makes
    ``clip_by_global_norm`` return NaN). Norms are before clipping; None means inf/NaN.
    XLA is turned off for the sweep: it gives the same numbers and traces faster.
    """
    config = config.replace(jit_compile=False)
    x = tf.constant(data.x_train[: config.batch_size])
    y = tf.constant(data.y_train[: config.batch_size])
    norms, nonfinite = [], []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        model = build_model(config.replace(seed=seed))
        step = make_train_step(model, make_optimizer(config), config)
        _, _, grad_norm, finite = step(x, y)
        grad_norm = float(grad_norm)
        norms.append(grad_norm)
        if not (math.isfinite(grad_norm) and np.all(finite)):
            nonfinite.append(seed)
    finite_norms = [n for n in norms if math.isfinite(n)]
    return {
        "seeds": list(seeds),
        "nonfinite_seeds": nonfinite,
        "grad_norm_median": _finite_or_none(statistics.median(norms)) if norms else None,
        "grad_norm_max": _finite_or_none(max(norms)) if finite_norms == norms and norms else None,
    }


def _finite_or_none(value):
    return value if math.isfinite(value) else None
