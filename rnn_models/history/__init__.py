"""The history page: every cell's speed and accuracy over the commits that changed
``baselines/`` (``python -m rnn_models history``), and a suite run's page
(``pytest benchmarks --report FILE.html``); each one offline HTML file with SVG charts.

``collect`` reads the git history (``records`` turns one stored file into points, ``forge``
makes commit links), ``svg`` draws, ``page`` and ``runpage`` write the HTML (``style``: their
CSS and one small script), ``rundata`` gathers a run's verdicts as data, ``write`` writes the page and its data."""
