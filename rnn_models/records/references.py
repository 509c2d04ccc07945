"""``add-reference``: stores this machine's seed-0 run of each cell as one more reference of
its baseline, for a machine kind whose numerics the pin cannot make agree with the stored
run (another vendor's kernels, ARM, another TensorFlow build). Such a machine then takes the
accuracy gate's identical path instead of training seeds each time.

A reference vouches that the code is the one that recorded the seeds, so it is only added
from a checkout whose ``rnn_models`` and ``pyproject.toml`` equal the commit that last wrote
the cell's baseline, with no change on top.
"""

from pathlib import Path

from rnn_models import git
from rnn_models.records.baselines import CellBaseline


def recorded_at(baseline_path):
    """The commit that last wrote ``baseline_path``, and whether the code differs from it
    (committed since, or changed in the working tree). A ValueError outside a checkout."""
    path = Path(baseline_path).resolve()
    repo = git.SOURCE_ROOT

    def run(*args):
        try:
            return git.run(repo, *args, accept=(0, 1), timeout=60)
        except git.GitError as err:
            raise ValueError(str(err)) from None

    commit = run("log", "-1", "--format=%H", "--", str(path)).stdout.strip()
    if not commit:
        raise ValueError(f"{path} is not committed in {repo}: record and commit the baselines first")
    changed = run("diff", "--quiet", commit, "--", *git.CODE_PATHS).returncode == 1
    return commit, changed


def add_references(cells, baselines, train, log=print):
    """For each cell, trains its suite run's seed 0 with ``train(configs) -> [RunResult]`` and
    adds it to ``baselines/<cell>.json`` under its numerics key, unless that key is stored
    (then it says whether the run reproduces it). Returns the files written."""
    from rnn_models.regression.accuracy import identical_to_reference
    from rnn_models.suite.matrix import matrix_config

    loaded = {cell: CellBaseline.load(baselines, cell) for cell in cells}
    for cell in cells:
        commit, changed = recorded_at(CellBaseline.path(baselines, cell))
        if changed:
            raise ValueError(f"{cell}: the code differs from {commit[:12]}, which recorded "
                             f"{CellBaseline.path(baselines, cell)}; add references from a clean "
                             f"checkout of that commit")
    written = []
    for cell, result in zip(cells, train([matrix_config(cell) for cell in cells])):
        key = result.fingerprint["numerics"]
        if key in loaded[cell].references():
            same, why = identical_to_reference(result, loaded[cell])
            log(f"{cell}: a reference for numerics {key} is stored; this run "
                + ("reproduces it bit for bit" if same else f"does not reproduce it ({why})"))
            continue
        written.append(loaded[cell].with_reference(result).save(baselines))
        log(f"{cell}: added the seed-0 reference for numerics {key} to {written[-1]}")
    return written
