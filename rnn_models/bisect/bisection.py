"""One bisection of a commit range: the range checked, the metric's judge built, and each
commit judged in a git worktree of its own under the temporary directory, removed when the
search ends, also on Ctrl-C and SIGTERM (``rnn_models.machine.interrupts``). The command that
runs it and prints its answer is ``rnn_models.commands.bisect``."""

import tempfile
from pathlib import Path

from rnn_models.bisect import history, search
from rnn_models.bisect.settings import (DEFAULT_DEVICE, DEFAULT_GOOD_SEEDS, DEFAULT_PAIRS, DEFAULT_PHASE,
                                        DEFAULT_ROUNDS, NUMERICS_EPOCHS)
from rnn_models.speed import worktree


def commit_range(repo, good, bad):
    """``(repository root, [Commit])``: the first-parent range from ``good`` to ``bad``,
    refused when ``bad`` is HEAD with uncommitted code that a bisect of commits cannot see."""
    root = history.repository(repo)
    commits = history.first_parent_range(root, good, bad)
    dirty = history.uncommitted_code(root, commits[-1].sha)
    if dirty:
        raise ValueError(dirty)
    return root, commits


def speed_judge(commits, *, cells, baselines, data=None, phase=DEFAULT_PHASE, device=DEFAULT_DEVICE,
                rounds=DEFAULT_ROUNDS, pairs=DEFAULT_PAIRS):
    """The speed judge's factory, its inputs (calibration, batch) read before any work."""
    import dataclasses

    from rnn_models.bisect.speed_judge import SpeedJudge
    from rnn_models.records.calibrations import load_calibration
    from rnn_models.speed.ab import real_batch

    thresholds, _ = load_calibration(baselines)
    thresholds = dataclasses.replace(thresholds, looks=search.budget_looks(thresholds.looks, rounds))
    batch = real_batch(data)
    family = len(cells) * search.expected_steps(commits)
    return lambda good_root, work: SpeedJudge(good_root, cells, phase, device, batch, thresholds, family,
                                              work / "logs", pairs)


def training_configs(cells, metric, steps=None, epochs=None):
    """The suite's run of each cell, ``steps`` train steps per epoch (None: every batch) over
    ``epochs`` (None: one for numerics, the suite's for accuracy)."""
    from rnn_models.suite.matrix import matrix_config

    epochs = epochs or (NUMERICS_EPOCHS if metric == "numerics" else None)
    configs = [matrix_config(cell, epochs) if epochs else matrix_config(cell) for cell in cells]
    return [c.replace(steps_per_epoch=steps) for c in configs]


def numerics_judge(configs, data=None, expected_s=None):
    """``expected_s(config dict) -> seconds | None`` (e.g. ``expected_run_seconds``) bounds the
    good commit's runs; theirs bound the others'."""
    from rnn_models.bisect.numerics_judge import NumericsJudge

    return lambda good_root, work: NumericsJudge(good_root, configs, work / "runs", data, expected_s)


def accuracy_judge(configs, data=None, good_seeds=DEFAULT_GOOD_SEEDS, rounds=DEFAULT_ROUNDS, expected_s=None):
    """``expected_s`` as for ``numerics_judge``."""
    from rnn_models.bisect.accuracy_judge import AccuracyJudge
    from rnn_models.regression.accuracy import policy_for

    policies = {c.cell: policy_for(c.cell) for c in configs}
    return lambda good_root, work: AccuracyJudge(good_root, configs, policies, good_seeds, rounds,
                                                 work / "runs", data, expected_s)


def run(repo, commits, factory, on_step=None):
    """The search, each commit judged in a worktree of its own; every worktree and temporary
    file is removed when it ends, however it ends. A good commit that does not run is a
    RuntimeError, a bad one a ValueError. Returns the ``search.Outcome``."""
    with tempfile.TemporaryDirectory(prefix="rnnbench-bisect-") as work:
        try:
            with worktree.checkout(repo, commits[0].sha) as good_root:
                judge = factory(good_root, Path(work))

                def judge_commit(commit):
                    with worktree.checkout(repo, commit.sha) as root:
                        return judge(commit, root)

                outcome = search.bisect(commits, judge_commit, on_step=on_step)
        except search.GoodDoesNotRun as err:
            raise RuntimeError(f"--good {commits[0].short}: {err}") from None
        finally:
            worktree.git(repo, "worktree", "prune", check=False)
    if outcome.status == search.BAD_DOES_NOT_RUN:
        bad = outcome.steps[0]
        raise ValueError(f"--bad {bad.commit.short} does not run: {bad.judgment.measure}")
    return outcome
