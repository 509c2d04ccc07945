"""``add-reference``: stores this machine's seed-0 run of each cell as one more reference of
its baseline, for a machine kind whose numerics the pin cannot make agree with the stored
run (another CPU model or vendor, ARM, another TensorFlow build). Such a machine then takes
the accuracy gate's identical path instead of training seeds each time.

A reference vouches for the code that recorded the seeds, so it is trained by that code: the
commit that last changed the cell's stored seeds. When this checkout's ``rnn_models`` and
``pyproject.toml`` differ from that commit's, the command trains seed 0 in a worktree of it.
"""

import json
from pathlib import Path

from rnn_models import git
from rnn_models.records.baselines import REFERENCE_SEED, CellBaseline


def _seeds_at(repo, commit, path):
    """The stored seeds of baseline ``path`` at ``commit`` (None where the file is missing or unreadable)."""
    done = git.run(repo, "show", f"{commit}:{path}", accept=None, timeout=60)
    try:
        return json.loads(done.stdout)["seeds"] if done.returncode == 0 else None
    except (ValueError, KeyError, TypeError):
        return None


def recorded_at(baseline_path):
    """The commit that recorded ``baseline_path``'s seeds (the newest commit that changed them;
    adding a reference does not), and whether the code differs from it (committed since, or
    changed in the working tree). A ValueError outside a checkout."""
    path = Path(baseline_path).resolve()
    repo = git.SOURCE_ROOT

    def run(*args):
        try:
            return git.run(repo, *args, accept=(0, 1), timeout=60)
        except git.GitError as err:
            raise ValueError(str(err)) from None

    commits = run("log", "--format=%H", "--", str(path)).stdout.split()
    if not commits:
        raise ValueError(f"{path} is not committed in {repo}: record and commit the baselines first")
    relative = run("ls-files", "--full-name", "--", str(path)).stdout.strip() or path.name
    for commit, parent in zip(commits, [*commits[1:], None]):
        if parent is None or _seeds_at(repo, commit, relative) != _seeds_at(repo, parent, relative):
            break
    changed = run("diff", "--quiet", commit, "--", *git.CODE_PATHS).returncode == 1
    return commit, changed


def add_references(cells, baselines, train, log=print):
    """For each cell, trains its stored config's seed 0 with ``train(commit, configs) ->
    [RunResult]`` (``commit``: the recording commit whose code must train them, or None when
    this checkout's code is that commit's) and adds the run to ``baselines/<cell>.json`` under
    its numerics key, unless it reproduces a stored reference already, or its key is stored
    (then it says where the run differs). Returns the files written."""
    from rnn_models.regression.accuracy import identical_to_reference, matching_reference

    loaded = {cell: CellBaseline.load(baselines, cell) for cell in cells}
    by_commit = {}
    for cell in cells:
        commit, changed = recorded_at(CellBaseline.path(baselines, cell))
        by_commit.setdefault(commit if changed else None, []).append(cell)
    written = []
    for commit, group in by_commit.items():
        if commit:
            log(f"{', '.join(group)}: the code differs from {commit[:12]}, which recorded the seeds; "
                f"seed 0 is trained by that commit's code")
        runs = train(commit, [loaded[cell].config.replace(seed=REFERENCE_SEED) for cell in group])
        for cell, result in zip(group, runs):
            key = result.fingerprint["numerics"]
            matched = matching_reference(result, loaded[cell])
            if matched is not None:
                log(f"{cell}: this run reproduces the stored seed-0 run of numerics {matched} bit for bit; "
                    "nothing to add")
            elif key in loaded[cell].references():
                log(f"{cell}: a reference for numerics {key} is stored, and this run does not reproduce it "
                    f"({identical_to_reference(result, loaded[cell])[1]})")
            else:
                written.append(loaded[cell].with_reference(result).save(baselines))
                log(f"{cell}: added the seed-0 reference for numerics {key} to {written[-1]}")
    return written
