"""The baseline side's code: a git worktree of a ref, beside the current checkout.

Every way the ref can fail to be had (no git, no checkout, a shallow clone, a missing
ref, dependencies that differ) is a ``RefUnavailable`` whose message is one line, so the
caller can say so and fall back.
"""

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

from rnn_models import git as rnn_git
from rnn_models.records.atomic import pid_alive

PREFIX = "rnnbench-ab-"  # our worktrees' folder names, so stale ones can be found again
GIT_TIMEOUT_S = 120


class RefUnavailable(Exception):
    """The baseline ref cannot be checked out here; ``str()`` says why in one line."""


def git(repo, *args, check=True):
    """``git -C repo args``, its CompletedProcess; a failure (with ``check``) is a RefUnavailable."""
    try:
        return rnn_git.run(repo, *args, accept=(0,) if check else None, timeout=GIT_TIMEOUT_S)
    except rnn_git.GitError as err:
        raise RefUnavailable(str(err)) from None


def repo_root(path):
    """The top of the git checkout holding ``path``."""
    try:
        return rnn_git.toplevel(path)
    except rnn_git.GitError as err:
        raise RefUnavailable(str(err)) from None


def resolve(repo, ref):
    """The full commit id of ``ref`` in ``repo``."""
    done = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode == 0:
        return done.stdout.strip()
    if is_shallow(repo):
        raise RefUnavailable(f"the ref {ref} is not in this shallow clone (clone with its history, "
                             "e.g. actions/checkout's fetch-depth: 0)")
    raise RefUnavailable(f"the ref {ref} is not in {repo}")


def is_shallow(repo):
    return git(repo, "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"


def fetch_commit(repo, commit):
    """Fetches ``commit`` from the ``origin`` remote into a shallow clone; False when there is
    no such remote or it does not answer (git's own 120 s bound)."""
    if "origin" not in git(repo, "remote", check=False).stdout.split():
        return False
    try:
        return git(repo, "fetch", "--quiet", "--no-tags", "origin", commit, check=False).returncode == 0
    except RefUnavailable:  # timed out
        return False


def _dependencies(pyproject_text):
    """The ``[project] dependencies`` list's text, whitespace-normalised."""
    match = re.search(r"(?ms)^dependencies\s*=\s*\[(.*?)^\]", pyproject_text)
    if not match:
        return ""
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in match.group(1).splitlines()]
    return " ".join(line for line in lines if line)


def dependency_difference(current_root, baseline_root):
    """One line when the two checkouts declare different dependencies, else None: the
    baseline would then run on this environment's packages, not its own."""
    texts = []
    for root in (current_root, baseline_root):
        path = Path(root) / "pyproject.toml"
        texts.append(_dependencies(path.read_text()) if path.is_file() else "")
    if texts[0] != texts[1]:
        return (f"pyproject.toml dependencies differ between the baseline ({texts[1] or 'none'}) "
                f"and this checkout ({texts[0] or 'none'})")
    return None


def remove_stale(repo):
    """Removes our worktrees whose process is gone (a killed run), and git's records of them."""
    listing = git(repo, "worktree", "list", "--porcelain", check=False).stdout
    for block in listing.split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines() if line)
        path, reason = fields.get("worktree", ""), fields.get("locked", "")
        pid = re.search(r"pid (\d+)", reason)
        if PREFIX in path and (pid is None or not pid_alive(int(pid.group(1)))):
            git(repo, "worktree", "remove", "--force", "--force", path, check=False)
            shutil.rmtree(Path(path).parent, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)


@contextlib.contextmanager
def checkout(repo, commit):
    """A detached worktree of ``commit``, removed on exit; locked with this process's pid
    so a later run can tell a killed run's leftover from a live one."""
    remove_stale(repo)
    parent = Path(tempfile.mkdtemp(prefix=PREFIX))
    path = parent / commit[:12]
    try:
        git(repo, "worktree", "add", "--detach", "--lock", "--reason",
             f"rnnbench A/B, pid {os.getpid()}", str(path), commit)
        yield path
    finally:
        git(repo, "worktree", "remove", "--force", "--force", str(path), check=False)
        shutil.rmtree(parent, ignore_errors=True)
        git(repo, "worktree", "prune", check=False)
