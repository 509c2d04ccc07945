"""What a result records about where it ran: device, kernel path, library versions and the
machine's fingerprint.

TensorFlow is imported only by the functions that ask it about devices; versions and the
fingerprint are read from package metadata and the OS, so reading results stays TF-free.
"""

import os
import platform
import resource
import sys
from importlib import metadata

from rnn_models.machine.cpu import cpu_fields, usable_cores
from rnn_models.machine.numerics_pin import is_gpu, numerics_key
from rnn_models.registry import FUSED_OR_CUDNN, GENERIC_LOOP, UNROLLED_LOOP, get_spec

# The CPU features that decide which kernels oneDNN and Eigen pick.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
             "avx512_bf16", "amx_bf16", "amx_int8", "neon", "sve")
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                    "TF_ENABLE_ONEDNN_OPTS")


def visible_gpus():
    """TensorFlow's logical GPUs, each set to grow its memory as needed first, so that several
    processes (the training pool's workers) share one GPU instead of the first taking it all.
    Growth can only be set before TensorFlow initialises the GPUs; once they are, it is left."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised in this process: its setting stays
            pass
    return tf.config.list_logical_devices("GPU")


def default_device():
    """``"GPU:0"`` when TensorFlow sees a GPU, else ``"CPU:0"``."""
    return "GPU:0" if visible_gpus() else "CPU:0"


def check_device(device):
    """``device`` if this process can run on it, else a ValueError naming it in one line."""
    import re

    if not re.fullmatch(r"(?i)(/device:)?(CPU|GPU):\d+", device or ""):
        raise ValueError(f"--device {device!r}: expected CPU:N or GPU:N, e.g. GPU:0")
    if is_gpu(device):
        index = int(device.rsplit(":", 1)[1])
        count = len(visible_gpus())
        if index >= count:
            seen = f"sees {count} GPU(s)" if count else "sees no GPU on this machine"
            raise ValueError(f"--device {device}: TensorFlow {seen}")
    return device


def gpu_name(device="GPU:0"):
    """The model of the GPU ``device`` names, from TensorFlow's device details
    (``"NVIDIA H200"``), or None when TensorFlow sees no such GPU."""
    import tensorflow as tf

    visible_gpus()
    gpus = tf.config.list_physical_devices("GPU")
    index = int(device.rsplit(":", 1)[1]) if device and device[-1].isdigit() else 0
    if index >= len(gpus):
        return None
    return tf.config.experimental.get_device_details(gpus[index]).get("device_name", "GPU")


def describe_device(device):
    """A readable name, e.g. ``"CPU:0 (x86_64, 2 CPUs)"`` or ``"GPU:0 (NVIDIA H200)"``."""
    if is_gpu(device):
        return f"{device} ({gpu_name(device) or 'GPU'})"
    return f"{device} ({platform.machine()}, {os.cpu_count()} CPUs)"


def kernel_path(cell, device, jit_compile, unrolled):
    """The kernel the recurrent layer runs by the registry: cuDNN only for Keras' fused
    LSTM and GRU on a GPU (``rnn_models.speed.measure`` checks it in the traced step);
    otherwise the generic loop over the cell, ``unrolled`` or a ``while`` loop, XLA-compiled
    or not."""
    if get_spec(cell).kernel_path == FUSED_OR_CUDNN and is_gpu(device):
        return "cuDNN"
    path = UNROLLED_LOOP if unrolled else GENERIC_LOOP
    return path + (" (XLA)" if jit_compile else "")


def peak_rss_bytes():
    """This process's peak resident set size so far, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _version(module, *distributions):
    """The imported module's own version if it is loaded, else its installed metadata."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__version__", None):
        return loaded.__version__
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def versions():
    """Python and the libraries that decide a run's numbers and speed."""
    return {
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow", "tensorflow", "tensorflow-cpu", "tf-nightly"),
        "keras": _version("keras", "keras"),
        "numpy": _version("numpy", "numpy"),
        "rnn_models": _version("rnn_models", "rnn_models") or "source",
    }


def fingerprint(device=None):
    """What identifies this machine for timing: CPU model, cores, ISA flags, library
    versions, thread settings, and the numerics key (``rnn_models.machine.numerics_pin``) of a run on
    ``device`` (a GPU's names the GPU). pytest-benchmark's machine id
    (``Linux-CPython-3.11-64bit``) names none of these."""
    info = cpu_fields()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    model = info.get("model name") or platform.processor() or platform.machine()
    family = "/".join(info.get(k, "?") for k in ("cpu family", "model", "stepping"))
    return {
        "cpu": f"{model} (family/model/stepping {family})" if info else model,
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "isa": sorted(flags.intersection(ISA_FLAGS)),
        "versions": {k: v for k, v in versions().items() if k != "rnn_models"},
        "threads": {k: os.environ.get(k, "default") for k in THREAD_VARIABLES},
        # what decides a run's bits: its stored reference's key
        "numerics": numerics_key(versions(), gpu=gpu_name(device) if is_gpu(device) else None),
    }


def fingerprint_differences(stored, current):
    """The top-level fingerprint keys whose values differ (``[]`` when they agree)."""
    keys = sorted(set(stored or {}) | set(current or {}))
    return [k for k in keys if (stored or {}).get(k) != (current or {}).get(k)]
