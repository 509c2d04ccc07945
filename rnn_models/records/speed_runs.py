"""The one reader of pytest-benchmark's stored speed runs (``baselines/benchmarks/``).

pytest-benchmark keeps each saved run as ``<storage>/<machine id>/NNNN_<name>.json``; the
newest is the highest NNNN, the one ``--benchmark-compare`` compares with. A file that is
empty, truncated or not a speed run is skipped with one line naming it (``warn``), never
silently and never with a crash.
"""

import dataclasses
import json
import platform
import re
from pathlib import Path

from rnn_models.machine.environment import fingerprint_differences
from rnn_models.machine.numerics_pin import without_cpu

RUN_NAME = re.compile(r"^(\d{4})_.*\.json$")
FINGERPRINT_KEY = "rnnbench_fingerprint"  # our key inside pytest-benchmark's machine_info


def machine_id():
    """pytest-benchmark's folder name for this interpreter (its ``get_machine_id``), e.g.
    ``Linux-CPython-3.11-64bit``; it names the platform, not the machine."""
    return "-".join((platform.system(), platform.python_implementation(),
                     ".".join(platform.python_version_tuple()[:2]), platform.architecture()[0]))


class StoredRunError(ValueError):
    """A stored speed run that cannot be read; the message names the file."""


@dataclasses.dataclass(frozen=True)
class StoredRun:
    path: Path
    number: int
    data: dict

    @property
    def commit(self):
        """pytest-benchmark's ``commit_info``: ``id``, ``dirty``, ``time``, ..."""
        return self.data.get("commit_info") or {}

    @property
    def fingerprint(self):
        return (self.data.get("machine_info") or {}).get(FINGERPRINT_KEY)

    @property
    def benchmarks(self):
        """``{test name: entry}``; each entry has ``stats`` and ``extra_info``."""
        return {b["name"]: b for b in self.data["benchmarks"]}

    def median(self, name):
        entry = self.benchmarks.get(name)
        return None if entry is None else float(entry["stats"]["median"])

    def extra_info(self, name):
        entry = self.benchmarks.get(name)
        return {} if entry is None else dict(entry.get("extra_info") or {})


def read_run(path):
    """One stored run; StoredRunError naming ``path`` when it is not a readable speed run."""
    path = Path(path)
    match = RUN_NAME.match(path.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        why = "empty file" if path.is_file() and path.stat().st_size == 0 else err
        raise StoredRunError(f"{path}: not a readable speed run ({why})") from err
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list) or not all(
            isinstance(b, dict) and isinstance(b.get("stats"), dict) and "name" in b for b in benchmarks):
        raise StoredRunError(f"{path}: not a pytest-benchmark speed run (no list of benchmarks with stats)")
    return StoredRun(path, int(match.group(1)) if match else 0, data)


def stored_runs(storage, machine=None, warn=None):
    """Every readable run for ``machine`` (default: this interpreter's id), oldest first;
    each unreadable one is reported through ``warn(line)`` and skipped."""
    folder = Path(storage) / (machine or machine_id())
    runs = []
    for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.json")):
        try:
            runs.append(read_run(path))
        except StoredRunError as err:
            if warn:
                warn(f"skipping stored speed run {err}")
    return sorted(runs, key=lambda run: run.number)


def newest_run(storage, machine=None, warn=None):
    """The run ``--benchmark-compare`` compares with, or None. When the highest-numbered
    file is unreadable, ``warn`` says which older run is used instead."""
    folder = Path(storage) / (machine or machine_id())
    files = sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.json"))
    runs = stored_runs(storage, machine, warn)
    if runs and files and runs[-1].path != files[-1] and warn:
        warn(f"comparing with {runs[-1].path} instead")
    return runs[-1] if runs else None


def fingerprint_warning(run, current):
    """One line when ``run`` was recorded on a machine unlike ``current``, else None."""
    if run is None:
        return None
    if run.fingerprint is None:
        return (f"the stored speed run {run.path.name} records no machine fingerprint: its "
                "absolute times may come from another machine")
    stored_key = run.fingerprint.get("numerics")
    if stored_key is not None and stored_key == without_cpu(current.get("numerics")):
        # a key stored before it named the CPU: the fingerprint's "cpu" compares the CPU
        current = {**current, "numerics": stored_key}
    differing = fingerprint_differences(run.fingerprint, current)
    if not differing:
        return None
    shown = "; ".join(f"{k}: stored {run.fingerprint.get(k)!r}, here {current.get(k)!r}" for k in differing)
    return (f"the stored speed run {run.path.name} was recorded on another machine ({shown}); "
            "its absolute times are not comparable with this machine's")


class AtomicStorage:
    """pytest-benchmark's file storage (``FileStorage``), with its ``save`` made atomic:
    its own writes the JSON in place, so a kill during the save left an empty run that broke
    every later compare. With a ``transaction`` (``--update-baselines``) the file is staged
    into it instead, and written with the rest of the update. Everything else is delegated."""

    def __init__(self, storage, transaction=None):
        self._storage, self._transaction = storage, transaction

    def __getattr__(self, name):
        return getattr(self._storage, name)

    @property
    def location(self):
        """The folder for pytest-benchmark's machine-info warning: relative to the working
        directory when under it, else absolute. pytest-benchmark's own (``FileStorage.location``,
        ``path.relative_to(Path.cwd())``) raises for a folder outside it, which crashed every
        ``--baselines DIR`` compare on another machine (INTERNALERROR, exit 3)."""
        path = getattr(self._storage, "path", None)
        if path is None:  # not a file storage: its own location
            return self._storage.location
        try:
            return str(Path(path).relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def save(self, output_json, save):
        from pytest_benchmark.utils import safe_dumps

        from rnn_models.records.atomic import write_bytes_atomic

        target = Path(self._storage.get(f"{self._storage._next_num}_{save}.json")).resolve()
        data = safe_dumps(output_json, ensure_ascii=True, indent=4).encode()
        folder = self._transaction.folder.resolve() if self._transaction else None
        if folder is not None and folder in target.parents:
            self._transaction.stage(target.relative_to(folder), data)
        else:
            write_bytes_atomic(target, data)
        self._storage.logger.info(f"Saved benchmark data in: {target}")
