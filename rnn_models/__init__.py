"""rnnbench's library: the TF1 recurrent cells, their model, training and results.

The top-level names are imported on first use (PEP 562), so ``import rnn_models.records.results``
or ``.plots`` loads no TensorFlow; ``rnn_models.get_cell`` and ``load_tf1_variables`` do.
"""

import importlib

_LAZY = {
    "REGISTRY": "rnn_models.registry",
    "cell_names": "rnn_models.registry",
    "get_cell": "rnn_models.registry",
    "get_rnn_layer": "rnn_models.registry",
    "get_spec": "rnn_models.registry",
    "load_tf1_variables": "rnn_models.cells.tf1_checkpoint",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'rnn_models' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
