"""What is stored on disk, usable without pytest.

- ``atomic``: atomic writes of files and folders, and the recovery of interrupted ones;
- ``paths``: the checks that an output path can be written, made before any work;
- ``results``: a run's record (``RunResult``) and its JSON;
- ``baselines``: a cell's stored seed distribution (``baselines/<cell>.json``);
- ``references``: the machine kinds' seed-0 references added to a baseline;
- ``speed_runs``: the one reader of pytest-benchmark's stored runs;
- ``calibrations``: the speed gate's stored calibrations;
- ``gpu_report``: the GPU check's record and page.
"""
