"""MNIST loading (mnist_files) and sequence tasks / tf.data pipelines (sequences)."""

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
    make_dataset,
    permutation,
    prepare,
    task_shape,
)

__all__ = [
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
    "make_dataset",
    "permutation",
    "prepare",
    "read_idx",
    "task_shape",
]
