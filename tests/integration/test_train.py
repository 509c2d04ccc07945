"""One real-MNIST smoke test: 300 steps of lstm learn (the training engine on small data:
tests/unit/test_train.py)."""

import os
import subprocess
import sys

import pytest

from rnn_models.config import TrainConfig
from rnn_models.machine import numerics_pin
from rnn_models.training.train import load_data, train_and_evaluate

REAL_MNIST = os.environ.get("RNN_MODELS_MNIST")


@pytest.mark.skipif(not REAL_MNIST, reason="set RNN_MODELS_MNIST to the real MNIST to run")
def test_real_mnist_smoke():
    # Measured: lstm, 300 steps of the tutorial's setup, seed 0 -> 0.84 mean test accuracy
    # (python -m rnn_models train --cell lstm --epochs 1 --steps-per-epoch 300). Chance is
    # 0.10; 0.60 leaves room for other seeds and library versions.
    config = TrainConfig(cell="lstm", epochs=1, steps_per_epoch=300, test_steps=20)
    result = train_and_evaluate(config, load_data(config))
    assert result.final_test.accuracy_mean >= 0.60


def test_cli_train_pins_the_numerics_before_tensorflow_loads(tmp_path):
    """In a fresh process the command applies the numerics pin (CPU runs) before anything it
    imports loads TensorFlow; after, the pin would change nothing, so it is skipped."""
    code = (
        "from rnn_models.commands import main\n"
        "from rnn_models.machine import numerics_pin\n"
        f"assert main(['train', '--cell', 'gru', '--quiet', '--data', {str(tmp_path / 'nowhere')!r}]) == 2\n"
        "assert numerics_pin.is_applied() or not numerics_pin.applies(), 'the pin came after TensorFlow'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in numerics_pin.PIN and k != "XLA_FLAGS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
