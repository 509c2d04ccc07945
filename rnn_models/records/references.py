"""What a machine adds to stored baselines, trained by the code that recorded them:
``add-reference`` stores this machine's seed-0 run of each cell as one more reference, for a
machine kind whose numerics the pin cannot make agree with the stored run (another CPU model or
vendor, ARM, another TensorFlow build), which then takes the accuracy gate's identical path
instead of training seeds each time; ``add-seeds`` trains the seeds a cell's distribution lacks
(up to the registry's ``baseline_seeds``) and adds them.

Both vouch for the code that recorded the seeds, so both train with it: the recording commit is
the newest commit that changed the cell's seed-0 record (adding a reference or more seeds does
not). When this checkout's ``rnn_models`` and ``pyproject.toml`` differ from that commit's, the
runs are trained in a worktree of it (``train_at``).
"""

import concurrent.futures
import dataclasses
import json
import tempfile
from pathlib import Path

from rnn_models import git
from rnn_models.records.baselines import REFERENCE_SEED, CellBaseline


def _reference_record_at(repo, commit, path):
    """The seed-0 record of baseline ``path`` at ``commit`` (None where the file is missing or unreadable)."""
    done = git.run(repo, "show", f"{commit}:{path}", accept=None, timeout=60)
    try:
        seeds = json.loads(done.stdout)["seeds"] if done.returncode == 0 else []
        return next((r for r in seeds if r["seed"] == REFERENCE_SEED), None)
    except (ValueError, KeyError, TypeError):
        return None


def recorded_at(baseline_path):
    """The commit that recorded ``baseline_path``'s seeds (the newest commit that changed its
    seed-0 record), and whether the code differs from it (committed since, or changed in the
    working tree). A ValueError outside a checkout."""
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
    record = _reference_record_at(repo, commits[0], relative)
    for commit, parent in zip(commits, [*commits[1:], None]):
        earlier = None if parent is None else _reference_record_at(repo, parent, relative)
        if parent is None or earlier != record:
            break
        record = earlier
    changed = run("diff", "--quiet", commit, "--", *git.CODE_PATHS).returncode == 1
    return commit, changed


def _by_recording_commit(cells, baselines, log):
    """``{commit or None: [cell, ...]}``: None for the cells whose recording commit's code this
    checkout has."""
    groups = {}
    for cell in cells:
        commit, changed = recorded_at(CellBaseline.path(baselines, cell))
        groups.setdefault(commit if changed else None, []).append(cell)
    for commit, group in groups.items():
        if commit:
            log(f"{', '.join(group)}: the code differs from {commit[:12]}, which recorded the seeds; "
                "the runs are trained by that commit's code")
    return groups


def add_references(cells, baselines, train, log=print):
    """For each cell, trains its stored config's seed 0 with ``train(commit, configs) ->
    [RunResult]`` (``commit``: the recording commit whose code must train them, or None when
    this checkout's code is that commit's) and adds the run to ``baselines/<cell>.json`` under
    its numerics key, unless it reproduces a stored reference already, or its key is stored
    (then it says where the run differs). Returns the files written."""
    from rnn_models.regression.accuracy import matching_reference, why_not_identical

    loaded = {cell: CellBaseline.load(baselines, cell) for cell in cells}
    written = []
    for commit, group in _by_recording_commit(cells, baselines, log).items():
        runs = train(commit, [loaded[cell].config.replace(seed=REFERENCE_SEED) for cell in group])
        for cell, result in zip(group, runs):
            key = result.fingerprint["numerics"]
            matched = matching_reference(result, loaded[cell])
            if matched is not None:
                log(f"{cell}: this run reproduces the stored seed-0 run of numerics {matched} bit for bit; "
                    "nothing to add")
            elif key in loaded[cell].references():
                log(f"{cell}: a reference for numerics {key} is stored, and this run does not reproduce it "
                    f"({why_not_identical(result, loaded[cell])})")
            else:
                written.append(loaded[cell].with_reference(result).save(baselines))
                log(f"{cell}: added the seed-0 reference for numerics {key} to {written[-1]}")
    return written


def add_seeds(cells, baselines, train, log=print):
    """For each cell, trains the seeds its stored distribution lacks, up to the registry's
    ``baseline_seeds``, with ``train(commit, configs)`` as ``add_references`` does, and adds
    them to ``baselines/<cell>.json`` (all or none: a run that cannot count is an error).
    Returns the files written."""
    from rnn_models.suite.matrix import baseline_seeds

    loaded = {cell: CellBaseline.load(baselines, cell) for cell in cells}
    missing = {cell: [s for s in baseline_seeds(cell) if s not in {r.seed for r in loaded[cell].seeds}]
               for cell in cells}
    written = []
    for cell in cells:
        if not missing[cell]:
            log(f"{cell}: all {len(loaded[cell].seeds)} seeds the registry asks for are stored; nothing to add")
    for commit, group in _by_recording_commit([c for c in cells if missing[c]], baselines, log).items():
        configs = [loaded[cell].config.replace(seed=s) for cell in group for s in missing[cell]]
        runs = train(commit, configs)
        for cell in group:
            added = [run for run in runs if run.cell == cell]
            written.append(loaded[cell].with_seeds(added).save(baselines))
            log(f"{cell}: added seeds {added[0].config.seed}-{added[-1].config.seed} "
                f"({len(added)} runs) to {written[-1]}")
    return written


def train_at(commit, configs, data=None, processes=2, expected_s=None):
    """``configs``' runs, in order, trained by ``commit``'s code in a worktree of this checkout
    under the numerics pin (``python -m rnn_models train`` there, one process per cell and
    share of its seeds, ``processes`` at a time); each labelled with this machine's numerics
    key (an older commit writes its own form of the key). ``expected_s(config dict) ->
    seconds | None`` bounds each process as the training pool bounds a run
    (``executors.executor.run_limit_s``)."""
    from rnn_models.bisect.runs import expected_bound_s, train_seeds
    from rnn_models.machine import numerics_pin
    from rnn_models.machine.cpu import usable_cores
    from rnn_models.machine.environment import versions
    from rnn_models.speed import worktree

    key = numerics_pin.numerics_key(versions(), env=numerics_pin.pinned_env())
    threads = max(1, usable_cores() // processes)  # the cores shared out, as the training pool does
    by_cell = {}  # each cell config's seeds, keyed by the config at seed 0
    for config in configs:
        base = config.replace(seed=REFERENCE_SEED)
        by_cell.setdefault(json.dumps(base.to_dict(), sort_keys=True), (base, []))[1].append(config.seed)
    jobs = [(base, seeds[k::processes]) for base, seeds in by_cell.values() for k in range(processes)
            if seeds[k::processes]]
    with worktree.checkout(git.SOURCE_ROOT, commit) as root, tempfile.TemporaryDirectory() as out:
        def train(k):
            base, seeds = jobs[k]
            return train_seeds(root, base, seeds, Path(out) / str(k), data, threads,
                               expected_bound_s(expected_s, base, len(seeds)))

        with concurrent.futures.ThreadPoolExecutor(processes) as side_by_side:
            batches = list(side_by_side.map(train, range(len(jobs))))
    runs = {(run.cell, run.config.seed): run for batch in batches for run in batch}
    return [dataclasses.replace(runs[(c.cell, c.seed)],
                                fingerprint={**(runs[(c.cell, c.seed)].fingerprint or {}), "numerics": key})
            for c in configs]
