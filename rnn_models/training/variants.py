"""Code changes that a training process makes to itself before it trains, by name: how
``accuracy-check`` measures the accuracy gate (``rnn_models.selfcheck.accuracy_check``) in
the training pool's workers.

- ``base``: no change.
- ``rounding``: XLA switched for every cell (on where the registry has it off, off where
  on): the same model and data, other float rounding. The gate's A/A test.
- ``adam_eps=E``: Adam's epsilon set to E instead of TF1's 1e-8, which lowers the 10-epoch
  accuracy; its effect is measured over the seeds, not assumed.
"""

import dataclasses
import math


def check_variant(name):
    """Raises a ValueError naming the forms when ``name`` is not a known variant."""
    value = name.partition("=")[2] if name.startswith("adam_eps=") else None
    if name in ("base", "rounding"):
        return
    try:
        if value is not None and math.isfinite(float(value)) and float(value) > 0:
            return
    except ValueError:
        pass
    raise ValueError(f"Unknown variant {name!r}: expected base, rounding or adam_eps=E (E > 0)")


def apply_variant(name):
    """Makes the variant's code change in this process."""
    from rnn_models import registry
    from rnn_models.training import steps

    check_variant(name)
    if name == "base":
        return
    if name == "rounding":
        for key, spec in list(registry.REGISTRY.items()):
            registry.REGISTRY[key] = dataclasses.replace(spec, prefers_xla=not spec.prefers_xla)
        return
    if name.startswith("adam_eps="):
        steps.ADAM_EPSILON = float(name.partition("=")[2])
