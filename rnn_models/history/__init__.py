"""The history page: every cell's speed and accuracy over the commits that changed
``baselines/`` (``python -m rnn_models history``), and a suite run's page
(``pytest benchmarks --report FILE.html``); both one offline HTML file with SVG charts.

``collect`` reads the git history into records, ``svg`` draws, ``page`` and ``runpage`` write
the HTML, ``rundata`` gathers a run's verdicts as data."""
