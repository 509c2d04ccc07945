"""MNIST loading (mnist_files), sequence tasks (sequences) and in-memory batches (batches)."""

from .batches import Batches
from .mnist_files import (
    EXPECTED,
    MNIST_ENV_VAR,
    MnistArrays,
    MnistFormatError,
    MnistNotFoundError,
    array_sha256,
    keras_cache_path,
    load_mnist,
    read_idx,
)
from .sequences import (
    PERMUTATION_SEED,
    SPLITS,
    TASKS,
    TF1_VALIDATION_SIZE,
    SequenceData,
    permutation,
    prepare,
    task_shape,
)

__all__ = [
    "Batches",
    "EXPECTED",
    "MNIST_ENV_VAR",
    "PERMUTATION_SEED",
    "SPLITS",
    "TASKS",
    "TF1_VALIDATION_SIZE",
    "MnistArrays",
    "MnistFormatError",
    "MnistNotFoundError",
    "SequenceData",
    "array_sha256",
    "keras_cache_path",
    "load_mnist",
    "permutation",
    "prepare",
    "read_idx",
    "task_shape",
]
