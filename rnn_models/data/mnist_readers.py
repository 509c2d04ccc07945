"""Reading MNIST's two file forms into read-only uint8 arrays: the IDX files (gzip or plain)
and an .npz archive. A bad file is a ``MnistFormatError`` that names it; finding the files
and checking their contents is ``mnist_files``'s."""

from __future__ import annotations

import gzip
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")

# Canonical IDX file names (without ".gz"), per array.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_IDX_MAGIC_LABELS = 2049  # 0x00000801: unsigned byte, 1 dimension
_IDX_MAGIC_IMAGES = 2051  # 0x00000803: unsigned byte, 3 dimensions


class MnistFormatError(ValueError):
    """An MNIST file exists but is truncated, corrupt or holds the wrong data."""


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzip-compressed or plain) into a read-only uint8 array.

    Raises MnistFormatError naming ``path`` on a bad gzip stream, wrong magic
    number or a payload whose length differs from the header's dimensions.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        # Sniff the gzip magic rather than trust the file name.
        data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise MnistFormatError(f"{path}: corrupt or truncated gzip data ({e})") from e

    if len(data) < 4:
        raise MnistFormatError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise MnistFormatError(
            f"{path}: wrong IDX magic number: expected {expected_magic}, got {magic}")
    if data[0:2] != b"\x00\x00" or data[2] != 0x08 or data[3] == 0:
        raise MnistFormatError(
            f"{path}: not an unsigned-byte IDX file (magic number {magic})")
    ndim = data[3]
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise MnistFormatError(f"{path}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected_len = int(np.prod(dims, dtype=np.int64))
    got_len = len(data) - header_len
    if got_len != expected_len:
        raise MnistFormatError(
            f"{path}: payload is {got_len} bytes but header dims {dims} need {expected_len}")
    # frombuffer on bytes is zero-copy and already read-only.
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of an .npz archive, read-only; a MnistFormatError naming ``path``
    when it is not a whole archive or lacks one of them."""
    # Opened here: is_zipfile(path) would report an unreadable file as "not a zip".
    with open(path, "rb") as f:
        is_zip = zipfile.is_zipfile(f)
    if not is_zip:
        raise MnistFormatError(f"{path}: not an .npz (zip) archive, or the archive is truncated")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in ARRAY_NAMES if k not in npz.files]
            if missing:
                raise MnistFormatError(
                    f"{path}: missing array(s) {missing}; found {sorted(npz.files)}")
            arrays = {k: npz[k] for k in ARRAY_NAMES}
    except MnistFormatError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as e:
        raise MnistFormatError(f"{path}: corrupt .npz archive ({type(e).__name__}: {e})") from e
    for a in arrays.values():
        a.flags.writeable = False  # same immutability as the IDX reader
    return arrays


def idx_paths(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each array to its IDX file in ``folder`` (.gz preferred); list the missing."""
    found, missing = {}, []
    for name, base in IDX_FILES.items():
        for candidate in (folder / (base + ".gz"), folder / base):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(base + ".gz")
    return found, missing


def read_idx_files(files: dict[str, Path]) -> dict[str, np.ndarray]:
    """``{array name: array}`` from ``{array name: IDX path}``, each file's magic number
    checked against its kind (images or labels)."""
    return {name: read_idx(f, _IDX_MAGIC_IMAGES if name.startswith("x") else _IDX_MAGIC_LABELS)
            for name, f in files.items()}
