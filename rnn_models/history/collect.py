"""The history's data: every commit that changed a file under ``baselines/``, each changed
baseline file read with ``git show`` (no checkout), plus saved runs given as files.

``collect(baselines_dir, runs=(), remote=None) -> dict``, the ``history.json`` document
(``SCHEMA_VERSION``): ``commits`` oldest first, ``speed``, ``accuracy`` and ``curves``
points that name their commit, and ``skipped`` files with the reason. A file that does not
parse at some commit is skipped, never fatal; a folder outside a git checkout gives the
current files alone, and ``notice`` says so.
"""

import datetime
import json
from pathlib import Path, PurePosixPath

from rnn_models import git
from rnn_models.history import records
from rnn_models.history.forge import commit_url, commit_url_template

SCHEMA_VERSION = 1
SPEED_DIR = "benchmarks"  # pytest-benchmark's storage under the baselines folder
CURRENT = "current"  # the commit id of the folder's files when there is no git history


def _git(repo, *args):
    return git.run(repo, *args).stdout


def git_location(folder):
    """``(repository root, the folder's path inside it)``, or None outside a git checkout."""
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").strip())
    except git.GitError:
        return None
    return top, PurePosixPath(Path(folder).resolve().relative_to(top.resolve()).as_posix())


def kind_of_file(relative):
    """``"speed"``, ``"cell"`` or None for a path relative to the baselines folder: a speed
    run under ``benchmarks/``, or a top-level JSON file (a cell's baseline when its content
    says so; other stored measurements are not plotted)."""
    parts = PurePosixPath(relative).parts
    if not parts or not parts[-1].endswith(".json"):
        return None
    if parts[0] == SPEED_DIR:
        return "speed"
    return "cell" if len(parts) == 1 else None


def _points(doc, kind, text, where, commit):
    """Adds the points of one file's text to ``doc``; a file that does not parse is listed
    in ``doc["skipped"]`` with the reason."""
    try:
        data = json.loads(text)
        if kind == "speed":
            doc["speed"] += records.speed_points(data, commit)
        elif records.is_cell_baseline(data):
            point, curves = records.cell_points(data, commit)
            doc["accuracy"].append(point)
            doc["curves"].append(curves)
        elif records.is_run_result(data):
            point, curves = records.run_result_points(data, commit)
            doc["accuracy"].append(point)
            doc["curves"].append(curves)
        elif kind == "run":
            raise ValueError("neither a pytest-benchmark run, a RunResult nor a run page's data")
    except (ValueError, KeyError, TypeError, IndexError) as err:  # json's errors are ValueErrors
        reason = f"{type(err).__name__}: {err}" if isinstance(err, (KeyError, TypeError, IndexError)) else str(err)
        doc["skipped"].append({"commit": commit, "path": where, "reason": " ".join(reason.split())})


def _commit_log(repo, relative):
    """``[(sha, iso date, subject, [changed paths under relative])]`` oldest first."""
    out = _git(repo, "log", "--no-renames", "--diff-filter=AM", "--format=%x1e%H%x1f%cI%x1f%s",
               "--name-only", "--", str(relative) if str(relative) != "." else ".")
    commits = []
    for block in out.split("\x1e")[1:]:
        head, _, names = block.partition("\n")
        sha, date, subject = head.split("\x1f", 2)
        paths = [n for n in names.splitlines() if n.strip()]
        commits.append((sha, date, subject, paths))
    return commits[::-1]


def empty_document(notice=None, template=None):
    return {"schema_version": SCHEMA_VERSION, "generated": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="seconds"), "notice": notice, "commit_url": template,
            "commits": [], "speed": [], "accuracy": [], "curves": [], "skipped": []}


def collect(baselines_dir, runs=(), remote=None):
    """The history document of ``baselines_dir`` (see the module's docstring). ``runs``:
    saved run files, placed after the commits; ``remote`` overrides the remote's URL."""
    baselines_dir = Path(baselines_dir)
    location = git_location(baselines_dir) if baselines_dir.is_dir() else None
    if location is None:
        doc = empty_document(f"{baselines_dir} is not in a git checkout: the current baselines only, "
                             "no history")
        _current_files(doc, baselines_dir)
    else:
        repo, relative = location
        if remote is None:
            remote = next(iter(_remote_urls(repo)), None)
        doc = empty_document(None, commit_url_template(remote))
        for sha, date, subject, paths in _commit_log(repo, relative):
            wanted = [(p, kind_of_file(PurePosixPath(p).relative_to(relative))) for p in paths]
            wanted = [(p, kind) for p, kind in wanted if kind]
            if not wanted:
                continue
            doc["commits"].append({"id": sha, "short": sha[:8], "date": date, "subject": subject,
                                   "url": commit_url(doc["commit_url"], sha)})
            for path, kind in wanted:
                try:
                    text = _git(repo, "show", f"{sha}:{path}")
                except git.GitError as err:
                    doc["skipped"].append({"commit": sha, "path": path, "reason": " ".join(err.stderr.split())})
                    continue
                _points(doc, kind, text, path, sha)
    for path in runs:
        add_run_file(doc, path)
    return doc


def _remote_urls(repo):
    try:
        names = _git(repo, "remote").split()
    except git.GitError:
        return []
    names.sort(key=lambda n: n != "origin")  # origin first
    return [_git(repo, "remote", "get-url", n).strip() for n in names]


def _current_files(doc, folder):
    doc["commits"].append({"id": CURRENT, "short": CURRENT, "date": None, "url": None,
                           "subject": f"the files in {folder} now"})
    if not folder.is_dir():
        doc["skipped"].append({"commit": CURRENT, "path": str(folder), "reason": "not a folder"})
        return
    for path in sorted(folder.rglob("*.json")):
        kind = kind_of_file(path.relative_to(folder).as_posix())
        if kind:
            _points(doc, kind, path.read_text(errors="replace"), str(path.relative_to(folder)), CURRENT)


def add_run_file(doc, path):
    """A saved run after the commits: a pytest-benchmark run, a RunResult, or the data of a
    run page (``pytest benchmarks --report``), which brings its speed steps and runs."""
    path = Path(path)
    commit = f"run:{path.name}"
    doc["commits"].append({"id": commit, "short": path.stem[:16], "date": None, "url": None,
                           "subject": f"saved run {path}", "run": True})
    try:
        text = path.read_text()
        data = json.loads(text)
    except (OSError, ValueError) as err:
        doc["skipped"].append({"commit": commit, "path": str(path), "reason": " ".join(str(err).split())})
        return
    if records.is_speed_run(data):
        _points(doc, "speed", text, str(path), commit)
    elif isinstance(data, dict) and data.get("kind") == "rnnbench-run":
        for run in data.get("runs", []):
            _points(doc, "run", json.dumps(run), str(path), commit)
    else:
        _points(doc, "run", text, str(path), commit)
