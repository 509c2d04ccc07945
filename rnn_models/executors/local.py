"""Training in this process with its data loaded once: the real MNIST, and each task's
prepared splits, cached for the process's life. The suite's fixtures, the training pool's
workers and the Ray executor's workers all train through it, so a process holds one copy."""

from rnn_models.config import TrainConfig

_MNIST = {}  # data_path (or a Ray object's name) -> MnistArrays
_PREPARED = {}  # (data_path, task, split, standardize) -> SequenceData


def mnist(data_path=None, fetch=None):
    """The real MNIST, once per process and source: read from ``data_path``
    (``rnn_models.data.load_mnist``; None: its default places), or, given ``fetch() ->
    MnistArrays``, fetched under the name ``data_path`` (a Ray worker's view of the arrays
    that the driver loaded and verified)."""
    from rnn_models.data import load_mnist

    if data_path not in _MNIST:
        _MNIST[data_path] = fetch() if fetch else load_mnist(data_path)
    return _MNIST[data_path]


def prepared_for(config, data_path=None, fetch=None):
    """``config``'s SequenceData (uint8 splits shaped for its task), made once per process."""
    from rnn_models.training.train import prepare_for

    key = (data_path, config.task, config.split, config.standardize)
    if key not in _PREPARED:
        _PREPARED[key] = prepare_for(config, mnist(data_path, fetch))
    return _PREPARED[key]


def train_here(config, data_path=None, fetch=None):
    """``config`` (a TrainConfig or its dict) trained in this process -> RunResult."""
    from rnn_models.training.train import train_and_evaluate

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    return train_and_evaluate(config, prepared_for(config, data_path, fetch))
