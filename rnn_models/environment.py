"""What a result records about where it ran: device, kernel path and library versions."""

import os
import platform
import resource
import sys

import keras
import numpy as np
import tensorflow as tf

from rnn_models.registry import FUSED_OR_CUDNN, GENERIC_LOOP, UNROLLED_LOOP, get_spec


def default_device():
    """``"GPU:0"`` when TensorFlow sees a GPU, else ``"CPU:0"``."""
    return "GPU:0" if tf.config.list_logical_devices("GPU") else "CPU:0"


def describe_device(device):
    """A readable name, e.g. ``"CPU:0 (x86_64, 2 threads)"`` or the GPU's model."""
    if device.upper().startswith("GPU"):
        gpus = tf.config.list_physical_devices("GPU")
        details = tf.config.experimental.get_device_details(gpus[0]) if gpus else {}
        return f"{device} ({details.get('device_name', 'GPU')})"
    return f"{device} ({platform.machine()}, {os.cpu_count()} CPUs)"


def kernel_path(cell, device, jit_compile, unrolled):
    """The kernel the recurrent layer really runs: cuDNN only for Keras' fused layers on a
    GPU; otherwise the generic loop over the cell, ``unrolled`` or a ``while`` loop,
    XLA-compiled or not."""
    if get_spec(cell).kernel_path == FUSED_OR_CUDNN and device.upper().startswith("GPU"):
        return "cuDNN"
    path = UNROLLED_LOOP if unrolled else GENERIC_LOOP
    return path + (" (XLA)" if jit_compile else "")


def peak_rss_bytes():
    """This process's peak resident set size so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def versions():
    from importlib import metadata

    try:
        own = metadata.version("rnn_models")
    except metadata.PackageNotFoundError:
        own = "source"
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "rnn_models": own,
    }
