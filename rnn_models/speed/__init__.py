"""Speed of the compiled steps, usable without pytest.

- ``measure``: ``build_step`` and ``measure_step(config, device, phase, batch) -> SpeedResult``,
  the in-process timing with its FLOPs, matmul limit and PyTorch ratio;
- ``timing``, ``flops``, ``torch_reference``, ``profile``: the pieces it uses;
- ``ab``, ``worker``, ``worktree``: the same-run A/B against a git ref, in two worker
  processes;
- ``gate``: the speed gate over the A/B, with the stored-run rules as its fallback.

Stored runs and calibrations are read by ``rnn_models.records`` (``speed_runs``,
``calibrations``); the gate's measurement of itself is ``rnn_models.selfcheck.gate_check``.

Importing this package loads no TensorFlow; ``measure``, ``profile`` and the worker do.
"""
