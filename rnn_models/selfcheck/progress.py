"""A long self-check's finished runs, kept in a file after each run, so that Ctrl-C, SIGTERM or
a lost machine costs only the run under way; ``--resume`` takes them up again.

The file (``<out>.partial``) holds the settings the runs were measured with and each group's
finished runs. A measurement resumes only with the same settings: runs measured otherwise
would be pooled into one result without a word. It is written atomically, and removed once
the result itself is written.
"""

import json
from pathlib import Path

from rnn_models.machine.environment import fingerprint_differences
from rnn_models.records.atomic import write_json_atomic


def partial_path(out):
    """Where the finished runs of a measurement that writes ``out`` are kept."""
    return Path(f"{out}.partial")


def _plain(settings):
    return json.loads(json.dumps(settings))  # tuples as lists, as the file holds them


class Progress:
    """The finished runs of one measurement, by group (a name per experiment).

    ``path`` None keeps them in memory only. With a path: ``resume`` False refuses a file an
    interrupted measurement left there (it would be overwritten), ``resume`` True requires one
    measured with the same ``settings`` (a dict of JSON values) and starts from its runs. Each
    refusal is a ValueError of one line naming the file."""

    def __init__(self, path=None, settings=None, resume=False):
        self.path = Path(path) if path is not None else None
        self.settings = _plain(settings or {})
        self.groups = {}
        if self.path is None:
            if resume:
                raise ValueError("--resume: this measurement keeps no finished runs to resume")
            return
        if self.path.exists() and not resume:
            raise ValueError(f"{self.path}: an interrupted measurement's finished runs are kept there; "
                             "--resume continues them, or remove the file to start again")
        if resume:
            self.groups = self._load()

    def _load(self):
        if not self.path.is_file():
            raise ValueError(f"--resume: no interrupted measurement's runs at {self.path}")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            stored, groups = data["settings"], data["groups"]
            if not isinstance(groups, dict) or not all(isinstance(g, list) for g in groups.values()):
                raise TypeError("its groups are not lists of runs")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"--resume: {self.path} cannot be read ({err}); remove it to start again") from None
        differ = fingerprint_differences(stored, self.settings)  # the keys whose values differ
        if differ:
            shown = ", ".join(f"{k} {stored.get(k)!r} there, {self.settings.get(k)!r} now" for k in differ)
            raise ValueError(f"--resume: {self.path} was measured with other settings ({shown}); "
                             "resume with the same ones, or remove it to start again")
        return groups

    def runs(self, group):
        """The finished runs of ``group``, a list the caller appends each new run to."""
        return self.groups.setdefault(group, [])

    @property
    def count(self):
        return sum(len(runs) for runs in self.groups.values())

    def keep(self):
        """Writes the finished runs so far (after each run)."""
        if self.path is not None:
            write_json_atomic(self.path, {"what": "an interrupted measurement's finished runs (--resume)",
                                          "settings": self.settings, "groups": self.groups})

    def finish(self):
        """The result is written: the kept runs are no longer needed."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
