"""Atomic file writes: a reader sees the old file or the new one, never half of one.

- ``write_bytes_atomic`` / ``write_json_atomic``: one file, through a temporary file in the
  same folder and a rename. The file gets the mode a plain ``open()`` would (the umask's),
  not ``mkstemp``'s 0600.
- ``Transaction``: several files that must change together (an update of ``baselines/``).
  They are staged beside their targets, then a journal listing the moves is written
  atomically and the moves are done; ``recover`` completes a commit that a kill cut short,
  so the folder is always either as before or fully updated once anyone reads it.
- ``clean_stale``: removes temporary files and staging folders left by killed processes.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

JOURNAL = ".rnnbench-commit.json"
STAGING_PREFIX = ".rnnbench-staging-"
UPDATE_LOCK = ".rnnbench-update.lock"  # held by the one run that may update a baselines folder
_TEMP = re.compile(r"^\..+\.pid(\d+)\.[^.]+\.tmp$")


def _umask_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def pid_alive(pid):
    """Whether a process ``pid`` exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path, data):
    """Writes ``data`` to ``path`` through a temporary file in the same folder + rename. On
    failure nothing is left: not the temporary file, nor a folder made for it; an OSError
    (a full disk) names ``path``."""
    path = Path(path)
    created = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.pid{os.getpid()}.",
                                   suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        for folder in created:  # innermost first; only what this call made, and only if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(err, OSError):
            raise OSError(err.errno, f"cannot write {path}: {err.strerror or err}") from None
        raise


def json_text(obj):
    """The project's JSON form: indented, sorted keys, NaN refused."""
    return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path, obj):
    """``json.dump`` of ``obj`` (indented, sorted keys, NaN refused) to ``path``, atomically."""
    write_bytes_atomic(path, json_text(obj).encode())


class Transaction:
    """Files under ``folder`` that change together: ``stage`` each, then ``commit``.

    Nothing under ``folder`` outside the staging area changes before ``commit``; dropping
    the transaction (``discard``, or a crash before the journal exists) leaves it as it was.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.staging = self.folder / f"{STAGING_PREFIX}{os.getpid()}"
        self.moves = {}  # final relative path -> staged path

    def stage(self, relative, data):
        """Stages ``data`` (bytes, or a JSON-able object) for ``folder/relative``."""
        if not isinstance(data, bytes):
            data = json_text(data).encode()
        staged = self.staging / f"{len(self.moves):04d}_{Path(relative).name}"
        write_bytes_atomic(staged, data)
        self.moves[str(relative)] = staged

    def commit(self):
        """Writes the journal, then moves every staged file into place, then drops the journal."""
        if not self.moves:
            self.discard()
            return []
        journal = {"moves": [[str(staged.relative_to(self.folder)), relative]
                             for relative, staged in self.moves.items()]}
        write_json_atomic(self.folder / JOURNAL, journal)
        _fsync_dir(self.folder)
        return _replay(self.folder, journal)

    def discard(self):
        shutil.rmtree(self.staging, ignore_errors=True)


def _replay(folder, journal):
    done = []
    for staged, relative in journal["moves"]:
        source, target = folder / staged, folder / relative
        if source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            _fsync_dir(target.parent)
        done.append(target)
    (folder / JOURNAL).unlink(missing_ok=True)
    _fsync_dir(folder)
    for staged, _ in journal["moves"]:
        shutil.rmtree((folder / staged).parent, ignore_errors=True)
    return done


def recover(folder):
    """Completes a commit a kill interrupted (its journal is there), then removes what
    killed processes left behind. Returns the paths the completed commit moved."""
    folder = Path(folder)
    journal_path = folder / JOURNAL
    done = []
    if journal_path.is_file():
        try:
            journal = json.loads(journal_path.read_text())
        except (OSError, ValueError):
            journal = None  # written atomically, so this is not ours: leave it to the user
        if journal is not None:
            done = _replay(folder, journal)
    clean_stale(folder)
    return done


def clean_stale(folder):
    """Removes temporary files and staging folders under ``folder`` whose process is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for path in folder.rglob(".*"):
        match = _TEMP.match(path.name)
        if match and path.is_file() and not pid_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
        elif path.is_dir() and path.name.startswith(STAGING_PREFIX) and \
                path.name[len(STAGING_PREFIX):].isdigit() and \
                not pid_alive(int(path.name[len(STAGING_PREFIX):])) and \
                not (folder / JOURNAL).exists():
            shutil.rmtree(path, ignore_errors=True)


def lock_for_update(folder):
    """Takes ``folder``'s update lock (filelock; the OS frees it if its holder dies) and
    returns it, held: ``release()`` it when done. Another run holding it is a ValueError
    naming the folder, so two updates never interleave their files."""
    from filelock import FileLock, Timeout

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / UPDATE_LOCK)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ValueError(f"{folder} is being updated by another run (it holds {folder / UPDATE_LOCK}): "
                         "wait for that run to end, then run again") from None
    return lock
