"""The gates measuring themselves: experiments that check a gate's false alarms and power.

- ``accuracy_check``: the accuracy gate's rates over seeds and perturbations;
- ``gate_check``: the speed A/B gate's false-alarm rate and power (calibration);
- ``gate_trial``: the speed gate run against HEAD under load, with injected slowdowns;
- ``bisect_check``: how often and how fast the speed bisect names a known regression;
- ``synthetic_history``: a synthetic git history with a known regression, for those and the tests;
- ``progress``: a long check's finished runs, kept after each run for its ``--resume``.
"""
