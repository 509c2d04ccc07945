"""The regression suite's library, the part of ``pytest benchmarks`` that needs no pytest.

- ``matrix``: which cells, phases and seeds the suite runs, and their configs;
- ``options``: the suite's options, one table for pytest and the CLI;
- ``runs``: the suite's training runs, trained once per cell;
- ``session``: a suite session's state and its summary;
- ``stored_inputs``: the checks that the stored baselines fit the run asked for.
"""
