"""``bisect``: the first commit of a range that made a cell slower, changed its numerics or
lowered its accuracy, found in one command (``python -m rnn_models bisect``).

- ``search``: the binary search over an abstract ``judge(commit) -> Judgment``, with skipped
  and inconclusive commits and the suspects they leave (no git, no TensorFlow);
- ``history``: the first-parent range from good to bad and its checks (refs, ancestry, a
  shallow clone, uncommitted code);
- ``speed_judge``, ``numerics_judge``, ``accuracy_judge``: a commit against the good one by
  the A/B gate, by its pinned seed-0 run's bits, or by the accuracy gate's rule;
- ``runs``: seeded training runs of one commit's code, in its worktree, under the numerics pin;
- ``report``: the progress lines, the table and the answer;
- ``settings``: the metrics, the settings only some of them read, and the defaults;
- ``bisection``: one bisection of a range, its judge, its worktrees and their clean-up (the
  command that runs it: ``rnn_models.commands.bisect``).

A synthetic history with a known regression, and the measurement of how often and how fast the
speed bisect names it, are in ``rnn_models.selfcheck`` (``synthetic_history``, ``bisect_check``).

Importing this package loads no TensorFlow; the judges' worker processes do.
"""
