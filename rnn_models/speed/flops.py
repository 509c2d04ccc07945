"""Matmul FLOPs of a model's step, for GFLOP/s and the throughput limit.

Counts only the matrix products (2 FLOPs per multiply-add), which dominate at these sizes;
elementwise work is left out, so the limit derived from them is a lower bound on time.
"""

import numpy as np


def inference_flops(model, batch_size):
    """FLOPs of one forward pass over ``[batch, T, F]``: every 2-D weight of the recurrent
    layer is one matmul per time step; the Dense head is one matmul."""
    # With sequence_length the model has two inputs; the first is [batch, T, F].
    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    timesteps = shapes[0][1]
    rnn, head = model.get_layer("rnn"), model.get_layer("logits")
    per_step = sum(2 * batch_size * int(np.prod(w.shape)) for w in rnn.weights if len(w.shape) == 2)
    return timesteps * per_step + 2 * batch_size * int(np.prod(head.kernel.shape))


def train_flops(model, batch_size):
    """FLOPs of one train step: each forward matmul has two of the same size backward
    (the gradients of both operands), so 3x the forward pass."""
    return 3 * inference_flops(model, batch_size)
