"""Training in this process with its data loaded once: the real MNIST, and each task's
prepared splits, cached for the process's life. The suite's fixtures, the training pool's
workers and the run exchange's helpers all train through it, so a process holds one copy."""

from rnn_models.config import TrainConfig

_MNIST = {}  # data_path -> MnistArrays
_PREPARED = {}  # (data_path, task, split, standardize) -> SequenceData


def mnist(data_path=None):
    """The real MNIST (``rnn_models.data.load_mnist``), loaded once per process and path."""
    from rnn_models.data import load_mnist

    if data_path not in _MNIST:
        _MNIST[data_path] = load_mnist(data_path)
    return _MNIST[data_path]


def prepared_for(config, data_path=None):
    """``config``'s SequenceData (uint8 splits shaped for its task), made once per process."""
    from rnn_models.train import prepare_for

    key = (data_path, config.task, config.split, config.standardize)
    if key not in _PREPARED:
        _PREPARED[key] = prepare_for(config, mnist(data_path))
    return _PREPARED[key]


def train_here(config, data_path=None):
    """``config`` (a TrainConfig or its dict) trained in this process -> RunResult."""
    from rnn_models.train import train_and_evaluate

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    return train_and_evaluate(config, prepared_for(config, data_path))
