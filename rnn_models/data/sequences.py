"""Turn MNIST images into sequence-classification data.

Tasks (each image becomes one sequence of T time steps with F features):
  rows      28 x 28: one image row per step.
  pixels    784 x 1: one pixel per step, row-major.
  permuted  784 x 1: the pixels in a fixed random order (PERMUTATION_SEED).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .mnist_files import EXPECTED, MnistArrays

__all__ = [
    "PERMUTATION_SEED",
    "SPLITS",
    "TASKS",
    "TF1_VALIDATION_SIZE",
    "SequenceData",
    "permutation",
    "prepare",
    "task_shape",
    "full_epoch_steps",
]

TASKS = ("rows", "pixels", "permuted")
SPLITS = ("tf1", "keras")
PERMUTATION_SEED = 0
# TF1's mnist.read_data_sets held out this many *leading* training images as
# validation (validation = train[:5000], train = train[5000:]).
TF1_VALIDATION_SIZE = 5000

_TASK_SHAPES = {"rows": (28, 28), "pixels": (784, 1), "permuted": (784, 1)}


def _check_choice(arg: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"{arg} must be one of {valid}; got {value!r}")


def full_epoch_steps(split: str, batch_size: int) -> int:
    """Full batches in one epoch of the real MNIST's training ``split`` (TF1's keeps its
    validation images out), as ``prepare``'s data gives them: 429 for the tutorial's."""
    _check_choice("split", split, SPLITS)
    examples = EXPECTED["x_train"].shape[0] - (TF1_VALIDATION_SIZE if split == "tf1" else 0)
    return examples // batch_size


def task_shape(task: str) -> tuple[int, int]:
    """(timesteps, features) of one sequence for ``task``."""
    _check_choice("task", task, TASKS)
    return _TASK_SHAPES[task]


@lru_cache(maxsize=1)
def permutation() -> np.ndarray:
    """The fixed pixel order of the permuted task: [784] int64, read-only.

    Step t of a permuted sequence is pixel ``permutation()[t]`` of the
    row-major flattened image.
    """
    perm = np.random.default_rng(PERMUTATION_SEED).permutation(784)
    perm.flags.writeable = False  # shared via the cache; must not drift
    return perm


@dataclass(frozen=True)
class SequenceData:
    """One task/split of MNIST as sequences.

    pixels_* [N, timesteps, features] uint8, the pixel values in the task's order;
    y_* [N] int32 (0..9). The model's inputs are ``inputs(pixels)``, float32
    ``(pixel - offset) / scale``. The splits stay uint8 and are converted one batch at a
    time: 1 byte per pixel in memory instead of 4 (about 55 MB instead of 220 MB for
    the rows task, which counts against the matrix's peak-memory budget), and for the
    rows and pixels tasks they are views of the loaded images, not copies.
    With split="keras" there is no validation set: pixels_val is [0, T, F] and
    y_val is [0] (see ``has_validation``).
    """

    pixels_train: np.ndarray
    y_train: np.ndarray
    pixels_val: np.ndarray
    y_val: np.ndarray
    pixels_test: np.ndarray
    y_test: np.ndarray
    task: str
    timesteps: int
    features: int
    offset: float = 0.0
    scale: float = 255.0

    @property
    def has_validation(self) -> bool:
        return len(self.pixels_val) > 0

    def inputs(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 pixels [..., T, F] -> float32 model inputs ``(pixel - offset) / scale``, each
        operation in float32. Without an offset in one pass (``pixel - 0`` is ``pixel``): the
        same numbers, a sixth less of basic_rnn's run spent on input (docs/decisions.md)."""
        scale = np.float32(self.scale)
        if self.offset == 0:
            return np.divide(pixels, scale, dtype=np.float32)
        x = np.subtract(pixels, np.float32(self.offset), dtype=np.float32)
        x /= scale
        return x


def _mean_std(images: np.ndarray) -> tuple[float, float]:
    """Exact mean and (population) std of uint8 pixel values, via a histogram.

    Avoids materialising a float64 copy of the whole training set.
    """
    counts = np.bincount(images.reshape(-1), minlength=256).astype(np.float64)
    values = np.arange(256, dtype=np.float64)
    n = counts.sum()
    mean = float(counts @ values / n)
    std = float(np.sqrt(counts @ (values - mean) ** 2 / n))
    return mean, std


def _to_sequences(images: np.ndarray, task: str) -> np.ndarray:
    """uint8 [N, 28, 28] -> uint8 [N, T, F] in the task's order (a view unless permuted)."""
    flat = images.reshape(len(images), 784)
    if task == "permuted":
        flat = flat[:, permutation()]
    return flat.reshape((len(images),) + _TASK_SHAPES[task])


def prepare(arrays: MnistArrays, *, task: str = "rows", split: str = "tf1",
            standardize: bool = False) -> SequenceData:
    """Split MNIST and shape it for ``task``.

    split "tf1": validation = the first TF1_VALIDATION_SIZE (5,000) training
    images, train = the remaining 55,000 (as TF1's read_data_sets); "keras":
    train = all 60,000, no validation. Test is always the 10,000 test images.

    The inputs (``SequenceData.inputs``) are the pixels divided by 255 (range [0, 1]),
    as the TF1 tutorial did; with ``standardize=True`` they are instead
    (pixel - mean) / std with one scalar mean and std taken from the train split only
    (no leak from val/test).
    """
    timesteps, features = task_shape(task)
    _check_choice("split", split, SPLITS)
    x_train, y_train = arrays.x_train, arrays.y_train
    if split == "tf1":
        if len(x_train) <= TF1_VALIDATION_SIZE:
            raise ValueError(
                f"split='tf1' needs more than TF1_VALIDATION_SIZE={TF1_VALIDATION_SIZE} "
                f"training images; got {len(x_train)}")
        x_val, y_val = x_train[:TF1_VALIDATION_SIZE], y_train[:TF1_VALIDATION_SIZE]
        x_train, y_train = x_train[TF1_VALIDATION_SIZE:], y_train[TF1_VALIDATION_SIZE:]
    else:
        x_val, y_val = x_train[:0], y_train[:0]

    offset, scale = _mean_std(x_train) if standardize else (0.0, 255.0)

    return SequenceData(
        pixels_train=_to_sequences(x_train, task), y_train=y_train.astype(np.int32),
        pixels_val=_to_sequences(x_val, task), y_val=y_val.astype(np.int32),
        pixels_test=_to_sequences(arrays.x_test, task), y_test=arrays.y_test.astype(np.int32),
        task=task, timesteps=timesteps, features=features, offset=offset, scale=scale)
