"""``RunExchange``: training runs shared by the processes of one pytest-xdist session on one
machine, through a folder, so that a cell's extra seeds spread over every worker instead of
queueing on the one worker that runs that cell's tests.

- ``run(configs, train)``: a process that needs runs posts them as jobs, trains those that
  nobody has claimed yet (its own first, then others'), and waits for the rest.
- ``help(train)``: a process whose own tests are over claims and trains anyone's jobs until
  every process that joined is over too.

Training is bit-identical in any process here (docs/decisions.md), so a run trained by
another worker equals the one this worker would have trained.

The folder:

- ``owner``: the pid of the process that made it (the xdist controller); a folder whose
  owner is gone is removed by the next session (``remove_stale``).
- ``members/<name>``: each process that joined, its pid inside; ``done/<name>`` once its own
  tests are over, so it can post nothing more.
- ``jobs/<seq>_<key>.json``: a posted run's TrainConfig, waiting (``seq`` keeps them in order).
- ``claimed/<seq>_<key>.<pid>.json``: the same file, renamed by the process that trains it;
  the rename is atomic, so exactly one process wins a job. A claim whose process died goes
  back to ``jobs/``.
- ``results/<key>.json``: the RunResult's dict; ``results/<key>.error``: why training failed.
"""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from rnn_models._atomic import pid_alive, write_bytes_atomic, write_json_atomic

POLL_S = 0.2  # a wait's poll interval: a run lasts tens of seconds, so it costs nothing
PREFIX, OWNER = "rnnbench-exchange-", "owner"
_FOLDERS = ("members", "done", "jobs", "claimed", "results")
_UNOWNED_GRACE_S = 3600  # a folder without its owner file yet may be one just being made


def remove_stale(parent):
    """Removes the exchange folders in ``parent`` whose owning process is gone (a session
    killed before it could remove its own). Returns the folders removed."""
    removed = []
    for folder in Path(parent).glob(f"{PREFIX}*"):
        if folder.is_dir() and _owner_gone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _owner_gone(folder):
    try:
        return not pid_alive(int((folder / OWNER).read_text()))
    except (OSError, ValueError):  # no owner file yet: stale only once it is old
        try:
            return time.time() - folder.stat().st_mtime > _UNOWNED_GRACE_S
        except OSError:
            return False


def job_key(config):
    """A run's name in the exchange: its cell and seed, and a hash of its whole config."""
    text = json.dumps(config.to_dict(), sort_keys=True)
    return f"{config.cell}_seed{config.seed}_{hashlib.sha1(text.encode()).hexdigest()[:12]}"


class TrainingFailed(RuntimeError):
    """A run posted to the exchange raised in the process that trained it."""


class RunExchange:
    """The exchange in ``folder`` (made by the session's controller), seen by the process
    ``name`` (its xdist worker id). ``join()`` before posting or helping."""

    def __init__(self, folder, name):
        self.folder, self.name = Path(folder), name
        self.helped = 0  # runs this process trained for another process

    @classmethod
    def create(cls, folder):
        """Makes the exchange's folders in ``folder`` (which must exist), owned by this process."""
        for sub in _FOLDERS:
            (Path(folder) / sub).mkdir(exist_ok=True)
        write_bytes_atomic(Path(folder) / OWNER, str(os.getpid()).encode())
        return Path(folder)

    def join(self):
        write_bytes_atomic(self.folder / "members" / self.name, str(os.getpid()).encode())
        return self

    # --- posting and waiting ------------------------------------------------------------

    def run(self, configs, train):
        """``configs`` (TrainConfigs) trained here or by other processes -> their RunResults,
        in order. ``train(config_dict) -> RunResult`` trains one here."""
        keys = [job_key(c) for c in configs]
        mine = {}
        for config, key in zip(configs, keys):
            if not self._finished(key):
                mine[key] = f"{time.time_ns():020d}_{key}.json"
                write_json_atomic(self.folder / "jobs" / mine[key], config.to_dict())
        results = {}
        while len(results) < len(keys):
            for key in keys:
                if key not in results and self._finished(key):
                    results[key] = self._result(key)
            if len(results) == len(keys):
                break
            waiting = [mine[k] for k in keys if k not in results and k in mine]
            if not self._train_one(waiting + self._pending(), train, own=waiting):
                self._requeue_dead_claims()
                time.sleep(POLL_S)
        return [results[k] for k in keys]

    # --- helping -------------------------------------------------------------------------

    def help(self, train):
        """Marks this process done, then trains anyone's jobs until every member is done (or
        gone) and no job waits."""
        write_bytes_atomic(self.folder / "done" / self.name, b"")
        while True:
            if self._train_one(self._pending(), train):
                continue
            self._requeue_dead_claims()
            if self._everyone_done() and not self._pending():
                return
            time.sleep(POLL_S)

    # --- the folder's states ---------------------------------------------------------------

    def _pending(self):
        return sorted(p.name for p in (self.folder / "jobs").glob("[!.]*.json"))

    def _finished(self, key):
        results = self.folder / "results"
        return (results / f"{key}.json").is_file() or (results / f"{key}.error").is_file()

    def _result(self, key):
        from rnn_models.results import RunResult

        error = self.folder / "results" / f"{key}.error"
        if error.is_file():
            raise TrainingFailed(f"run {key} failed where it was trained: {error.read_text().strip()}")
        return RunResult.from_dict(json.loads((self.folder / "results" / f"{key}.json").read_text()))

    def _train_one(self, names, train, own=()):
        """Claims the first of ``names`` still waiting and trains it; False if none was."""
        for name in names:
            claimed = self.folder / "claimed" / f"{name[:-len('.json')]}.{os.getpid()}.json"
            try:
                os.rename(self.folder / "jobs" / name, claimed)
            except FileNotFoundError:  # another process won it
                continue
            self._train_claimed(claimed, name.split("_", 1)[1][:-len(".json")], train)
            self.helped += name not in own
            return True
        return False

    def _train_claimed(self, claimed, key, train):
        config = json.loads(claimed.read_text())
        try:
            result = train(config)
        except Exception as err:  # the poster raises it, naming the run
            write_bytes_atomic(self.folder / "results" / f"{key}.error",
                               f"{type(err).__name__}: {err}".encode())
        except BaseException:  # interrupted: the job waits again for whoever is left
            self._requeue(claimed)
            raise
        else:
            write_json_atomic(self.folder / "results" / f"{key}.json", result.to_dict())
        claimed.unlink(missing_ok=True)

    def _requeue(self, claimed):
        try:
            os.replace(claimed, self.folder / "jobs" / f"{claimed.name.rsplit('.', 2)[0]}.json")
        except FileNotFoundError:  # its process finished it meanwhile
            pass

    def _requeue_dead_claims(self):
        for claimed in (self.folder / "claimed").glob("[!.]*.json"):
            if not pid_alive(int(claimed.name.rsplit(".", 2)[1])):
                self._requeue(claimed)

    def _everyone_done(self):
        for member in (self.folder / "members").glob("[!.]*"):
            if (self.folder / "done" / member.name).exists():
                continue
            try:
                pid = int(member.read_text())
            except (OSError, ValueError):
                continue
            if pid_alive(pid):
                return False
        return True
