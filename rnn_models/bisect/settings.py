"""The bisect's metrics, the settings that only some of them read, and the defaults, read by
the judges, ``python -m rnn_models bisect`` and ``bisect-check`` alike (no TensorFlow, no git)."""

METRICS = ("speed", "numerics", "accuracy")
DEFAULT_PHASE, DEFAULT_DEVICE = "train", "CPU:0"  # speed: the timed step
DEFAULT_ROUNDS = 3  # an inconclusive step may take the calibrated looks' units twice more
DEFAULT_PAIRS = 4  # measured against 1 pair with confirmation: docs/bisect.md
NUMERICS_EPOCHS = 1  # one short run: the first differing bit shows in the first window
DEFAULT_GOOD_SEEDS = 10  # the stored distributions' size, which the gate's rates were measured with
# The settings that only some metrics read, and which those are.
METRIC_SETTINGS = {"phase": ("speed",), "device": ("speed",), "worker_pairs": ("speed",),
                   "rounds": ("speed", "accuracy"),
                   "steps": ("numerics", "accuracy"), "epochs": ("numerics", "accuracy"),
                   "good_seeds": ("accuracy",)}


def check_metric_settings(metric, given):
    """Each metric-specific setting of ``given`` (``{name: value or None}``) set with another
    metric is refused, not ignored."""
    for name, metrics in METRIC_SETTINGS.items():
        if given.get(name) is not None and metric not in metrics:
            raise ValueError(f"--{name.replace('_', '-')} applies to --metric {' or '.join(metrics)}, "
                             f"not {metric}")
