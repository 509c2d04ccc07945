"""Find and verify the MNIST files (reading them: ``mnist_readers``).

Everything here returns plain numpy uint8 arrays in Keras' layout:
``x_* [N, 28, 28] uint8`` (pixels 0..255) and ``y_* [N] uint8`` (labels 0..9).
TensorFlow/Keras is imported only when a download is actually attempted, so
reading local files stays fast.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .mnist_readers import ARRAY_NAMES, IDX_FILES, MnistFormatError, idx_paths, read_idx_files, read_npz

__all__ = [
    "EXPECTED",
    "KERAS_MNIST_SHA256",
    "KERAS_MNIST_URL",
    "MNIST_ENV_VAR",
    "ArraySpec",
    "MnistArrays",
    "MnistNotFoundError",
    "array_sha256",
    "keras_cache_path",
    "load_mnist",
]

MNIST_ENV_VAR = "RNN_MODELS_MNIST"

KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# sha256 of Keras' own mnist.npz *file* (what keras.datasets.mnist uses); a
# re-saved npz holds the same arrays but different zip bytes, so array content
# is checked separately through EXPECTED.
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48938e8d1c26b2d"

_HOW_TO_PROVIDE = (
    "To provide MNIST, pass --data PATH or set "
    f"{MNIST_ENV_VAR} to a folder with mnist.npz or the four IDX .gz files "
    f"({', '.join(n + '.gz' for n in IDX_FILES.values())}), "
    "or to an mnist.npz file."
)


class ArraySpec(NamedTuple):
    shape: tuple[int, ...]
    dtype: np.dtype
    sha256: str  # of the array's raw C-order bytes


# The sha256s are of each array's raw C-order bytes (not of any file), so they
# hold for Keras' mnist.npz, a re-saved npz and the canonical IDX files alike.
# They were computed from the canonical MNIST IDX files (whose md5s match the
# published ones: torchvision MNIST.resources) and cross-checked against an
# independent copy, as recorded in the data folder's SOURCE.md.
_U8 = np.dtype(np.uint8)
EXPECTED: dict[str, ArraySpec] = {  # name: (shape, dtype, sha256)
    "x_train": ArraySpec((60000, 28, 28), _U8, "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757"),
    "y_train": ArraySpec((60000,), _U8, "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ArraySpec((10000, 28, 28), _U8, "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ArraySpec((10000,), _U8, "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}


class MnistNotFoundError(FileNotFoundError):
    """No MNIST data where we looked. ``tried`` lists ``(place, why)`` pairs."""

    def __init__(self, message: str, tried: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.tried = list(tried or [])


@dataclass(frozen=True)
class MnistArrays:
    """The four MNIST arrays (read-only numpy uint8) and where they came from.

    x_train [N_train, 28, 28] uint8, y_train [N_train] uint8,
    x_test [N_test, 28, 28] uint8, y_test [N_test] uint8.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def array_sha256(a: np.ndarray) -> str:
    """sha256 hex digest of ``a``'s raw C-order bytes (no copy if contiguous)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(a)).cast("B")).hexdigest()


def keras_cache_path() -> Path:
    """Where ``keras.utils.get_file`` caches mnist.npz: $KERAS_HOME or ~/.keras."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home).expanduser() / "datasets" / "mnist.npz"


# ------------------------------------------------------------ verification


def _check(arrays: dict[str, np.ndarray], files: dict[str, Path], verify: bool) -> None:
    """Check dtype, shape, label range and (if ``verify``) sha256 of each array.

    Without ``verify`` only the per-example shape is fixed, so small synthetic
    data passes; the sample counts must still agree between x and y.
    """
    for name, spec in EXPECTED.items():
        a, where = arrays[name], files[name]
        if a.dtype != spec.dtype:
            raise MnistFormatError(
                f"{where}: array {name}: expected dtype {spec.dtype}, got {a.dtype}")
        shape_ok = a.shape == spec.shape if verify else (
            a.ndim == len(spec.shape) and a.shape[1:] == spec.shape[1:])
        if not shape_ok:
            want = spec.shape if verify else ("N",) + spec.shape[1:]
            raise MnistFormatError(
                f"{where}: array {name}: expected shape {want}, got {a.shape}")
    for split in ("train", "test"):
        x, y = arrays["x_" + split], arrays["y_" + split]
        if len(x) != len(y):
            raise MnistFormatError(
                f"{files['y_' + split]}: y_{split} has {len(y)} labels "
                f"but x_{split} has {len(x)} images")
        if y.size and int(y.max()) > 9:
            raise MnistFormatError(
                f"{files['y_' + split]}: array y_{split}: labels must be in 0..9, "
                f"got max {int(y.max())}")
    if verify:
        for name, spec in EXPECTED.items():
            got = array_sha256(arrays[name])
            if got != spec.sha256:
                raise MnistFormatError(
                    f"{files[name]}: array {name}: sha256 mismatch: "
                    f"expected {spec.sha256}, got {got}")


# -------------------------------------------------------------- resolution


def _load_npz(path: Path, verify: bool) -> MnistArrays:
    arrays = read_npz(path)
    _check(arrays, dict.fromkeys(ARRAY_NAMES, path), verify)
    return MnistArrays(**arrays, source=str(path))


def _load_location(path: Path, origin: str, verify: bool) -> MnistArrays:
    """Load from a user-given file or folder; any failure is an error, not a fallback."""
    if path.is_file():
        return _load_npz(path, verify)
    if not path.exists():
        why = "no such file or directory"
    elif not path.is_dir():
        why = "not a regular file or directory"
    elif (path / "mnist.npz").is_file():
        return _load_npz(path / "mnist.npz", verify)
    else:
        files, missing = idx_paths(path)
        if not missing:
            arrays = read_idx_files(files)
            _check(arrays, files, verify)
            return MnistArrays(**arrays, source=", ".join(str(files[n]) for n in ARRAY_NAMES))
        why = f"folder has no mnist.npz and is missing IDX file(s) {missing}"
    raise MnistNotFoundError(
        f"MNIST not found at {origin} {str(path)!r}: {why}. {_HOW_TO_PROVIDE}",
        [(f"{origin} {path}", why)])


def load_mnist(path: str | os.PathLike | None = None, *, verify: bool = True,
               download: bool = True) -> MnistArrays:
    """Find and load MNIST; see the module docstring for the array layout.

    Looks, in order, at: ``path`` (an .npz file, or a folder with mnist.npz or
    the four IDX files, .gz or plain); else ``$RNN_MODELS_MNIST`` (same forms);
    else Keras' cache (``$KERAS_HOME`` or ``~/.keras``, then ``datasets/mnist.npz``);
    else, if ``download``, fetches Keras' mnist.npz. A given ``path`` or env
    var that fails is an error at once, with no fallback.

    ``verify=True`` checks exact shapes, dtypes, labels in 0..9 and each
    array's sha256 against EXPECTED; ``verify=False`` skips only the sha256
    and exact sample counts.

    Raises MnistNotFoundError (a FileNotFoundError) listing every place tried,
    or MnistFormatError (a ValueError) naming a corrupt or wrong file; a file that
    cannot be read raises the OSError that names it ("Permission denied").
    """
    if path is not None:
        return _load_location(Path(path).expanduser(), "path argument", verify)
    env = os.environ.get(MNIST_ENV_VAR)
    if env:
        return _load_location(Path(env).expanduser(), f"${MNIST_ENV_VAR}", verify)

    tried = [("path argument", "not given"), (f"${MNIST_ENV_VAR}", "not set")]
    cache = keras_cache_path()
    if cache.is_file():
        return _load_npz(cache, verify)
    tried.append((f"Keras cache {cache}", "no such file"))

    if download:
        try:
            import keras  # deferred: importing TF costs seconds

            fetched = keras.utils.get_file(
                "mnist.npz", origin=KERAS_MNIST_URL, file_hash=KERAS_MNIST_SHA256,
                cache_dir=str(cache.parent.parent))
        except Exception as e:  # network, hash mismatch, unwritable cache, ...
            tried.append((f"download {KERAS_MNIST_URL}", f"failed: {type(e).__name__}: {e}"))
        else:
            return _load_npz(Path(fetched), verify)
    else:
        tried.append((f"download {KERAS_MNIST_URL}", "skipped (download=False)"))

    lines = "\n".join(f"  - {place}: {why}" for place, why in tried)
    raise MnistNotFoundError(f"MNIST not found. Looked in:\n{lines}\n{_HOW_TO_PROVIDE}", tried)
