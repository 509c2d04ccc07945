"""The regression suite (``pytest benchmarks``): its library, which needs no pytest, and its plugin.

- ``matrix``: which cells, phases and seeds the suite runs, and their configs;
- ``options``: the suite's options, one table for pytest and the CLI;
- ``runs``: the suite's training runs, trained once per cell;
- ``session``: a suite session's state and its summary;
- ``stored_inputs``: the checks that the stored baselines fit the run asked for;
- ``plugin``: the pytest plugin (a ``pytest11`` entry point) that wires the above into
  ``pytest benchmarks``, with its ``fixtures``, the controller's ``session_hooks`` and what it
  keeps on pytest's config (``plugin_state``).
"""
