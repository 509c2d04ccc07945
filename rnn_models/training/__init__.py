"""Training a cell on sequential MNIST, usable without pytest.

- ``model``: the classifier around a cell;
- ``steps``: the compiled train and evaluation steps;
- ``train``: ``train_and_evaluate(config) -> RunResult``;
- ``first_step``: the first step's numerics over a sweep;
- ``variants``: code changes a run makes first (the gates' self-checks);
- ``progress``, ``tensorboard``: what a run reports while it trains.
"""
