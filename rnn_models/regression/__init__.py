"""The regression rules, usable without pytest.

- ``rules``: small rule objects built from short strings (``median:150%``,
  ``torch_ratio:60%``), as pytest-benchmark's ``--benchmark-compare-fail`` has them;
- ``speed``: the A/B speed decision (paired block ratios, median and sign-test interval,
  sequential looks) and its thresholds, read from the stored calibration;
- ``accuracy``: the accuracy decision over seeds against a stored distribution;
- ``device_accuracy``: ``accuracy-on-device``, the accuracy gate's check on one device (it
  trains, so it sits above the rules, on the commands' layer).
"""
