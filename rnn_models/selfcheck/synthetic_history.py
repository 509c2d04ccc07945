"""A synthetic history with known regressions, for the bisect's tests and its experiment.

Its first commit holds this checkout's files (those git tracks, and the untracked ones it does
not ignore); every later commit either appends a line to an unrelated notes file or makes one
real code change (``Change``). So the commit that introduced each change is known, and every
commit's code runs.
"""

import dataclasses
import shutil
from pathlib import Path

from rnn_models import git

NOTES = "docs/bisect-notes.md"  # the unrelated file the other commits touch
IDENTITY = ("-c", "user.name=rnnbench", "-c", "user.email=rnnbench@example.invalid")

# The cells package's first import, before which a commit adds a dependency it cannot have.
CELLS_IMPORT = "from rnn_models.cells.basic_lstm import BasicLSTMCell\n"
MISSING_IMPORT = "import rnnbench_missing_dependency  # not installed anywhere\n"
# basic_lstm's gate product, the line the slowdown rewrites.
GATES_LINE = "        gates = ops.matmul(ops.concatenate([inputs, h], axis=-1), self.kernel) + self.bias\n"


@dataclasses.dataclass(frozen=True)
class Change:
    """One code change: ``old`` (which must occur once) becomes ``new`` in ``path``."""

    path: str
    old: str
    new: str
    subject: str

    def apply(self, root):
        path = Path(root) / self.path
        text = path.read_text()
        if text.count(self.old) != 1:
            raise ValueError(f"{self.path}: the text to change occurs {text.count(self.old)} times, not once")
        path.write_text(text.replace(self.old, self.new))


def wider_gates(extra_columns):
    """basic_lstm computes its gate product over ``extra_columns`` more kernel columns and keeps
    the first ``4 * units``: the same gates, and a slower step (more so for more columns)."""
    new = (f"        copies = 1 + -(-{extra_columns} // (4 * self.units))\n"
           f"        wide = ops.tile(self.kernel, (1, copies))[:, : 4 * self.units + {extra_columns}]\n"
           "        gates = ops.matmul(ops.concatenate([inputs, h], axis=-1), wide)[:, : 4 * self.units] + self.bias\n")
    return Change("rnn_models/cells/basic_lstm.py", GATES_LINE, new,
                  f"basic_lstm: gate product over {extra_columns} extra columns")


HEAD_LINE = '    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(last)\n'


def wider_head(width):
    """The model puts a ``Dense(width)`` layer before its logits: every cell's train step does
    more work, in proportion to ``width`` (a few ops more, so a fine-grained slowdown)."""
    new = (f'    last = keras.layers.Dense({width}, name="head")(last)\n' + HEAD_LINE)
    return Change("rnn_models/training/model.py", HEAD_LINE, new, f"model: a Dense({width}) head before the logits")


def forget_bias(value):
    """lstm's default forget_bias (1.0, TF1's) becomes ``value``: other numbers, same speed."""
    return Change("rnn_models/cells/lstm.py", "        forget_bias=1.0,\n", f"        forget_bias={value!r},\n",
                  f"lstm: default forget_bias {value!r}")


def missing_dependency():
    """The cells import a module that is not installed: the commit's code does not run."""
    return Change("rnn_models/cells/__init__.py", CELLS_IMPORT, MISSING_IMPORT + CELLS_IMPORT,
                  "cells: import a dependency that is not installed")


def dependency_removed():
    """The reverse of ``missing_dependency``: the code runs again."""
    return Change("rnn_models/cells/__init__.py", MISSING_IMPORT + CELLS_IMPORT, CELLS_IMPORT,
                  "cells: drop the dependency that is not installed")


def git_output(repo, *args):
    """``git -C repo *args`` as the synthetic histories' committer; its stdout, stripped."""
    return git.run(repo, *IDENTITY, *args).stdout.strip()


def _files(source):
    listed = git_output(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [name for name in listed.split("\0") if name and (Path(source) / name).is_file()]


def build(source, dest, changes, commits=8):
    """A new repository at ``dest``: ``source``'s files, then ``commits`` commits, commit k
    making ``changes[k]`` (a Change) or appending to the notes file. Returns the commits' full
    ids, the first (the copy) at index 0."""
    dest = Path(dest)
    for name in _files(source):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(source) / name, target)
    git_output(dest.parent, "init", "-q", str(dest))
    git_output(dest, "add", "-A")
    git_output(dest, "commit", "-q", "-m", "import the checkout")
    shas = [git_output(dest, "rev-parse", "HEAD")]
    notes = dest / NOTES
    for k in range(1, commits + 1):
        change = changes.get(k)
        if change is not None:
            change.apply(dest)
            subject = change.subject
        else:
            notes.parent.mkdir(parents=True, exist_ok=True)
            with notes.open("a") as f:
                f.write(f"- note {k}\n")
            subject = f"notes: line {k}"
        git_output(dest, "add", "-A")
        git_output(dest, "commit", "-q", "-m", subject)
        shas.append(git_output(dest, "rev-parse", "HEAD"))
    return shas
