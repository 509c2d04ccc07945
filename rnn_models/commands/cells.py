"""``cells``: the registered cells, each with where it comes from and its kernel path."""

from rnn_models.registry import GENERIC_LOOP, MAX_UNROLLED_STEPS, REGISTRY, UNROLLED_LOOP

NAME = "cells"
HELP = "list the registered cells"


def add_arguments(parser):
    """No arguments."""


def run() -> int:
    for spec in REGISTRY.values():
        origin = f"tf.contrib.rnn.{spec.tf1_name}" if spec.faithful else "Keras' own layer"
        path = spec.kernel_path
        if path == GENERIC_LOOP and spec.prefers_unroll:
            path = f"{UNROLLED_LOOP} up to {MAX_UNROLLED_STEPS} steps"
        if spec.prefers_xla:
            path += " (XLA)"
        print(f"{spec.name:18} {origin:40} {path}")
    return 0
