"""Speed of the compiled steps, usable without pytest.

- ``measure``: ``build_step`` and ``measure_step(config, device, phase, batch) -> SpeedResult``,
  the in-process timing with its FLOPs, matmul limit and PyTorch ratio;
- ``timing``, ``flops``, ``torch_reference``, ``profile``: the pieces it uses;
- ``stored``: the one reader of pytest-benchmark's stored runs;
- ``ab``, ``worker``, ``worktree``: the same-run A/B against a git ref, in two worker
  processes;
- ``calibration``: the A/B gate measuring its own false-alarm rate and power.

Importing this package loads no TensorFlow; ``measure``, ``profile`` and the worker do.
"""
