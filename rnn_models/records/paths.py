"""Checks that an output path can be written, made before any work that would fill it.

Each check raises a ValueError whose one-line message names the option and the path, so a
mistake costs seconds, not a finished run. The probe really creates (and removes) a file,
since permission bits say nothing for root or on read-only mounts.
"""

import os
import tempfile
from pathlib import Path


def _existing_ancestor(path):
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")


def _probe(folder, what, path):
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".rnnbench-probe-")
    except OSError as err:
        raise ValueError(f"{what} {path}: cannot write in {folder} ({err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)


def _writable_below(folder, path, what):
    """``path`` once ``folder``'s nearest existing ancestor is a directory we can write in."""
    ancestor = _existing_ancestor(folder)
    if not ancestor.is_dir():
        raise ValueError(f"{what} {path}: {ancestor} is a file, not a directory")
    _probe(ancestor, what, path)
    return path


def check_output_file(path, what):
    """``path`` can be written as a file (its folders are created when the file is)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path}: is a directory, expected a file path")
    return _writable_below(path.parent, path, what)


def check_output_dir(path, what):
    """``path`` is, or can be created as, a folder that can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path}: is a file, expected a directory")
    return _writable_below(path, path, what)


def check_input_dir(path, what):
    """``path`` is an existing folder."""
    path = Path(path)
    if not path.is_dir():
        why = "does not exist" if not path.exists() else "is not a directory"
        raise ValueError(f"{what} {path}: {why}")
    return path
