"""The numerics pin: the environment that caps an accuracy run's kernels at AVX2, so that its
bits follow fewer of the host's traits: AVX-512 or not no longer matters. The CPU's model and
L1 data cache still can, so the numerics key names them (``cpu_identity``), and a kind whose
bits differ stores its own seed-0 references (docs/numerics_pin.md).

TensorFlow's matmuls go through oneDNN's sgemm, which picks its kernels by the CPU's widest
instruction set at run time, and XLA compiles for the host's; both change the last bits of a
run (AVX-512 against AVX2: the 9th digit of the first loss window). Capping both at AVX2, with
TensorFlow's oneDNN graph rewrites off, gives every AVX2 machine the same kernels
(docs/decisions.md: the kinds checked, and the pin's cost). It must be in the environment
before TensorFlow loads, so accuracy runs train in processes started with it
(``rnn_models.executors``: the local pool's workers, or Ray workers, whose environment carries
``pin_variables``); speed runs stay unpinned, timed as users run. A run on a GPU is never
pinned (``applies``): the pin caps CPU kernels only, and a GPU run's bits are the GPU's, keyed
by its model (``numerics_key(..., gpu=NAME)``).

TF-free: the suite's process reads the key without loading TensorFlow.
"""

import os
import platform
from pathlib import Path

from rnn_models.machine.cpu import cpu_fields

ISA_CAP = "AVX2"
PIN = {
    "ONEDNN_MAX_CPU_ISA": ISA_CAP,  # oneDNN's kernels, and so TensorFlow's matmuls
    "TF_ENABLE_ONEDNN_OPTS": "0",  # no oneDNN graph rewrites (on by default on AVX-512 VNNI CPUs)
}
XLA_FLAG = f"--xla_cpu_max_isa={ISA_CAP}"  # XLA's CPU code generation (jit_compile cells)
DISABLE_VARIABLE = "RNN_MODELS_NO_PIN"  # set to 1: runs take the machine's own kernels
# The CPU features the cap needs: a machine without them runs other kernels.
REQUIRED_FLAGS = ("avx", "avx2", "fma")


def enabled(env=os.environ):
    return env.get(DISABLE_VARIABLE, "") in ("", "0")


def pinned_env(env=os.environ):
    """A copy of ``env`` with the pin (unchanged but copied when the pin is disabled)."""
    out = dict(env)
    if not enabled(env):
        return out
    out.update(PIN)
    flags = out.get("XLA_FLAGS", "").split()
    out["XLA_FLAGS"] = " ".join([f for f in flags if not f.startswith("--xla_cpu_max_isa")] + [XLA_FLAG])
    return out


def pin_variables(env=os.environ):
    """The variables that carry this process's choice to a process started elsewhere (a Ray
    worker on another host, whose own environment may differ): the pin's, or
    ``RNN_MODELS_NO_PIN=1`` when it is disabled here."""
    if not enabled(env):
        return {DISABLE_VARIABLE: "1"}
    pinned = pinned_env(env)
    return {key: pinned[key] for key in (*PIN, "XLA_FLAGS")}


# Where a Linux NVIDIA driver lists its GPUs: read without TensorFlow, which must not load
# before the pin is decided.
NVIDIA_GPU_PATHS = ("/proc/driver/nvidia/gpus/*", "/dev/nvidia[0-9]*")


def gpu_present(env=os.environ, paths=NVIDIA_GPU_PATHS):
    """True when this process would see an NVIDIA GPU: the driver lists one and
    ``CUDA_VISIBLE_DEVICES`` does not hide them all. TF-free, so the pin can be decided
    before TensorFlow loads; ``paths`` are globs (a test passes its own)."""
    import glob

    hidden = env.get("CUDA_VISIBLE_DEVICES")
    if hidden is not None and hidden.strip() in ("", "-1"):
        return False
    return any(glob.glob(pattern) for pattern in paths)


def is_gpu(device):
    """True for a TensorFlow device string naming a GPU (``"GPU:0"``, ``"/device:GPU:1"``)."""
    return device is not None and "GPU" in device.upper().rsplit("/", 1)[-1]


def applies(device=None, env=os.environ, gpu=None):
    """Whether a run on ``device`` takes the pin: CPU runs only. ``device`` None is the
    default device, a GPU when one is present (``gpu``: that answer, else ``gpu_present``)."""
    if device is not None:
        return not is_gpu(device)
    return not (gpu_present(env) if gpu is None else gpu)


def apply(env=os.environ, device=None, gpu=None):
    """Puts the pin into this process's environment when its runs go to the CPU (``applies``;
    a GPU run is left untouched) and returns whether it did. Must run before TensorFlow is
    imported: afterwards it would change nothing, so it raises."""
    import sys

    if not applies(device, env, gpu):
        return False
    if "tensorflow" in sys.modules and not is_applied(env):
        raise RuntimeError("the numerics pin must be applied before TensorFlow is imported")
    env.update(pinned_env(env))
    return True


def is_applied(env=os.environ):
    return all(env.get(k) == v for k, v in PIN.items()) and XLA_FLAG in env.get("XLA_FLAGS", "").split()


def _cpu_flags():
    fields = cpu_fields()
    return set((fields.get("flags") or fields.get("Features") or "").split())


def slug(text):
    """``"NVIDIA H200"`` -> ``"nvidia-h200"``: lower case, runs of other characters as one dash."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "unknown"


def l1_data_cache_kib(root="/sys/devices/system/cpu/cpu0/cache"):
    """The first core's L1 data cache in KiB, as Linux reports it (None where it does not)."""
    for index in sorted(Path(root).glob("index*")):
        try:
            level, kind, size = ((index / name).read_text().strip() for name in ("level", "type", "size"))
        except OSError:
            continue
        if level == "1" and kind == "Data" and size.endswith("K") and size[:-1].isdigit():
            return int(size[:-1])
    return None


def cpu_identity(fields=None, l1d_kib=None):
    """The CPU model and L1 data cache, as one slug, e.g. ``"genuineintel-6-167-l1d48k"``:
    what still moves a pinned run's last bits between machines with the same ISA cap. XLA
    tunes its code for the host's model, the vendor's reciprocal-square-root estimate differs,
    and Eigen cuts TensorFlow's matmuls by the L1 data cache size (docs/numerics_pin.md).
    ``""`` where /proc/cpuinfo names no vendor."""
    fields = cpu_fields() if fields is None else fields
    vendor = fields.get("vendor_id") or fields.get("CPU implementer")
    if not vendor:
        return ""
    model = [fields.get(k) for k in ("cpu family", "model", "CPU architecture", "CPU part") if fields.get(k)]
    l1d = l1_data_cache_kib() if l1d_kib is None else l1d_kib
    return slug("-".join([vendor, *model, *([f"l1d{l1d}k"] if l1d else [])]))


def numerics_key(versions, env=os.environ, machine=None, flags=None, gpu=None, cpu=None):
    """What decides a run's bits besides the code, as one string: the architecture, the
    kernels' instruction set (the pin's cap, or the machine's own), the CPU's model and L1
    data cache (``cpu``: ``cpu_identity()`` unless given), and TensorFlow's and Keras'
    versions (``versions``: ``rnn_models.machine.environment.versions()``), e.g.
    ``"x86_64/avx2-pinned/genuineintel-6-167-l1d48k/tensorflow-2.21.0/keras-3.15.1"``. A run
    on a GPU (``gpu``: its model name) is keyed by the GPU instead,
    ``"gpu-nvidia-h200/tensorflow-.../keras-..."``, whatever the CPU pin says. Stored seed-0
    references are labelled by it; keys stored before the CPU part was added lack it."""
    tail = f"tensorflow-{versions.get('tensorflow')}/keras-{versions.get('keras')}"
    if gpu:
        return f"gpu-{slug(gpu)}/{tail}"
    machine = machine or platform.machine()
    flags = _cpu_flags() if flags is None else set(flags)
    pinned = is_applied(env) and machine in ("x86_64", "AMD64")
    if pinned and all(f in flags for f in REQUIRED_FLAGS):
        isa = f"{ISA_CAP.lower()}-pinned"
    else:  # unpinned, or a CPU below the cap: the widest ISA it has decides the kernels
        widest = [f for f in ("avx512f", "avx2", "avx", "sse4_2", "sve", "neon") if f in flags]
        isa = f"{widest[0] if widest else 'baseline'}-native"
    cpu = cpu_identity() if cpu is None else cpu
    return "/".join([machine, isa, *([cpu] if cpu else []), tail])


def without_cpu(key):
    """A CPU run's numerics key in the form stored before the CPU part was added:
    ``"x86_64/avx2-pinned/genuineintel-6-167-l1d48k/tensorflow-2.21.0/keras-3.15.1"`` ->
    ``"x86_64/avx2-pinned/tensorflow-2.21.0/keras-3.15.1"``; any other key unchanged."""
    parts = str(key).split("/")
    return "/".join(parts[:2] + parts[3:]) if len(parts) == 5 else key
