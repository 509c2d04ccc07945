"""MNIST loading (mnist_files; reading its file forms: mnist_readers), sequence tasks
(sequences) and in-memory batches (batches)."""

from .batches import Batches
from .mnist_files import (
    EXPECTED,
    MNIST_ENV_VAR,
    MnistArrays,
    MnistNotFoundError,
    array_sha256,
    keras_cache_path,
    load_mnist,
)
from .mnist_readers import MnistFormatError, read_idx
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
