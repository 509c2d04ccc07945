"""rnnbench's library: the TF1 recurrent cells, their model, training and results."""

from rnn_models.registry import REGISTRY, cell_names, get_cell, get_rnn_layer, get_spec
from rnn_models.tf1_checkpoint import load_tf1_variables

__all__ = [
    "REGISTRY",
    "cell_names",
    "get_cell",
    "get_rnn_layer",
    "get_spec",
    "load_tf1_variables",
]
