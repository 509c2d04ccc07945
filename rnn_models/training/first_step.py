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

from rnn_models.training.model import build_model
from rnn_models.training.steps import make_optimizer, make_train_step


def first_step_sweep(config, data, seeds):
    """For each seed: a fresh model, two train steps on the first training batch.

    Returns ``{"seeds", "nonfinite_gradient_seeds", "norm_overflow_seeds",
    "nonfinite_after_update_seeds", "grad_norm_median", "grad_norm_max"}``:

    - nonfinite_gradient: some element of the first gradient is inf/NaN;
    - norm_overflow: every element is finite but the global norm overflows float32, which
      makes ``clip_by_global_norm`` return NaN (fatal with clipping, harmless without);
    - nonfinite_after_update: the second step's loss is not finite, i.e. the first update
      already broke the weights under this config.

    Norms are before clipping; None stands for inf/NaN. XLA and unrolling are off for the
    sweep: the same ops and numbers, and each seed's new model traces much faster
    (docs/decisions.md). One step is traced for all seeds: each seed's fresh model only gives
    its initial weights, and the optimizer's fresh state is restored, the same numbers as a
    new model and step per seed (``tests/unit/test_numerics.py``) at a fifth of the time.
    """
    config = config.replace(jit_compile=False, unroll=False)
    x = tf.constant(data.inputs(data.pixels_train[: config.batch_size]))
    y = tf.constant(data.y_train[: config.batch_size])
    # Every seed's weights first: setting TensorFlow's seed drops its compiled-function caches.
    initial = [_initial_weights(config, seed) for seed in seeds]
    model = build_model(config)
    optimizer = make_optimizer(config)
    step = make_train_step(model, optimizer, config)
    fresh_optimizer = [v.numpy() for v in optimizer.variables]
    norms, bad_grads, overflows, broken = [], [], [], []
    for seed, weights in zip(seeds, initial):
        _assign(model.variables, weights)
        _assign(optimizer.variables, fresh_optimizer)
        _, _, grad_norm, finite = step(x, y)
        grad_norm = float(grad_norm)
        norms.append(grad_norm)
        if not np.all(finite):
            bad_grads.append(seed)
        elif not math.isfinite(grad_norm):
            overflows.append(seed)
        if not math.isfinite(float(step(x, y)[0])):
            broken.append(seed)
    return {
        "seeds": list(seeds),
        "nonfinite_gradient_seeds": bad_grads,
        "norm_overflow_seeds": overflows,
        "nonfinite_after_update_seeds": broken,
        "grad_norm_median": _finite_or_none(statistics.median(norms)) if norms else None,
        "grad_norm_max": _finite_or_none(max(norms)) if norms else None,
    }


def _initial_weights(config, seed):
    """The variables' values of a model of ``config`` freshly built under ``seed``."""
    keras.utils.set_random_seed(seed)
    return [v.numpy() for v in build_model(config.replace(seed=seed)).variables]


def _assign(variables, values):
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _finite_or_none(value):
    return value if math.isfinite(value) else None
