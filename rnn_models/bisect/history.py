"""The range a bisect searches: ``--good``, then the first-parent commits after it up to
``--bad``, in the user's repository, and the checks that make it a valid range.

It only reads the repository (``rev-parse``, ``merge-base``, ``log``, ``status``); the
checkouts are ``rnn_models.speed.worktree``'s, so the user's checkout, branch and index are
never touched. Every problem is a ValueError of one line that names the option.
"""

import dataclasses
from pathlib import Path

from rnn_models.git import CODE_PATHS
from rnn_models.speed.worktree import RefUnavailable, git, repo_root



@dataclasses.dataclass(frozen=True)
class Commit:
    sha: str
    subject: str

    @property
    def short(self):
        return self.sha[:12]


def repository(path):
    """The top of the git checkout holding ``path`` (``--repo``)."""
    try:
        return repo_root(Path(path).resolve())
    except RefUnavailable as err:
        raise ValueError(f"--repo {path}: {err}") from None


def _resolve(repo, ref, option):
    done = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if done.returncode != 0:
        raise ValueError(f"{option} {ref}: not a commit in {repo}")
    return done.stdout.strip()


def _log(repo, *args):
    """``(sha, subject)`` of each commit ``git log`` lists with ``args``."""
    out = git(repo, "log", "--format=%H%x00%s", *args).stdout
    return [Commit(*line.split("\0", 1)) for line in out.splitlines() if line]


def first_parent_range(repo, good, bad):
    """``[good, ..., bad]``: the good commit, then the first-parent commits after it up to
    the bad one, oldest first (a merge is one step, as ``git bisect --first-parent``)."""
    shallow = git(repo, "rev-parse", "--is-shallow-repository", check=False).stdout.strip()
    if shallow == "true":
        raise ValueError(f"{repo} is a shallow clone: its history is cut, so a bisect cannot see "
                         "every commit (git fetch --unshallow, or actions/checkout's fetch-depth: 0)")
    good_sha, bad_sha = _resolve(repo, good, "--good"), _resolve(repo, bad, "--bad")
    if good_sha == bad_sha:
        raise ValueError(f"--good {good} and --bad {bad} are the same commit {good_sha[:12]}")
    if git(repo, "merge-base", "--is-ancestor", good_sha, bad_sha, check=False).returncode != 0:
        raise ValueError(f"--good {good} ({good_sha[:12]}) is not an ancestor of --bad {bad} "
                         f"({bad_sha[:12]})")
    later = _log(repo, "--first-parent", "--reverse", f"{good_sha}..{bad_sha}")
    return [*_log(repo, "-1", good_sha), *later]


def uncommitted_code(repo, bad_sha):
    """One line when ``--bad`` is the checkout's HEAD and its code has uncommitted changes,
    which the bisect (of commits) would not see; else None."""
    head = git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).stdout.strip()
    if head != bad_sha:
        return None
    changed = git(repo, "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS).stdout
    files = [line[3:] for line in changed.splitlines() if line]
    if not files:
        return None
    return (f"--bad {bad_sha[:12]} is HEAD, and the working tree has uncommitted changes to "
            f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}, which a bisect of commits "
            "cannot see: commit or stash them, or name another --bad")
