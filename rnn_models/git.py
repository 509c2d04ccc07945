"""The one git wrapper, and the one lookup of the checkout that holds this package.

``run`` gives every git call the same failures, each a ``GitError`` whose message is one
line: git missing, git not answering within a limit, git exiting with an unexpected code.
Interrupted (Ctrl-C, or SIGTERM through ``machine.interrupts``), it lets git finish first:
killed mid-``worktree add``, git leaves a half-made worktree and its own children behind.
"""

import subprocess
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # rnn_models/
SOURCE_ROOT = PACKAGE_DIR.parent  # the checkout holding rnn_models/ (baselines/, benchmarks/, pyproject.toml)
# The checkout's paths that decide a run's numbers: a change there is a change of the code
# (add-reference, the bisect's range and the gate trial refuse uncommitted ones).
CODE_PATHS = ("rnn_models", "pyproject.toml")
TIMEOUT_S = 120  # a `worktree add` of this repository takes seconds; past this git is stuck


class GitError(Exception):
    """A git command could not run or failed; ``str()`` says which and why, in one line.
    ``returncode``/``stdout``/``stderr``: git's, when it ran to the end."""

    def __init__(self, message, returncode=None, stdout="", stderr=""):
        super().__init__(message)
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(repo, *args, accept=(0,), timeout=TIMEOUT_S):
    """``git -C repo *args``, its ``subprocess.CompletedProcess`` (text). A GitError if git
    is not installed, does not answer within ``timeout`` s, or exits with a code not in
    ``accept`` (None: any code)."""
    try:
        process = subprocess.Popen(["git", "-C", str(repo), *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise GitError(f"git {' '.join(args)} did not answer in {timeout} s") from None
    except KeyboardInterrupt:
        try:  # git ends its work first, within the same limit
            process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        raise
    if accept is not None and process.returncode not in accept:
        raise GitError(f"git {' '.join(args)}: {' '.join(stderr.split()) or 'failed'}",
                       process.returncode, stdout, stderr)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def toplevel(path):
    """The top of the git checkout holding ``path``; a GitError outside one."""
    done = run(path, "rev-parse", "--show-toplevel", accept=None)
    if done.returncode != 0:
        raise GitError(f"{path} is not inside a git checkout", done.returncode, done.stdout, done.stderr)
    return Path(done.stdout.strip())
