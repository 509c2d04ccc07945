"""The light modules load no TensorFlow, checked in a fresh interpreter (the registry
itself: tests/unit/test_registry.py)."""

import subprocess
import sys


def test_the_light_modules_load_no_tensorflow():
    code = (
        "import sys\n"
        "import rnn_models, rnn_models.registry, rnn_models.config, rnn_models.records.results\n"
        "import rnn_models.records.baselines, rnn_models.plots, rnn_models.commands, rnn_models.speed.ab\n"
        "import rnn_models.speed.gate, rnn_models.regression.speed, rnn_models.regression.accuracy\n"
        "from rnn_models.commands import main\n"
        "assert main(['cells']) == 0\n"
        "rnn_models.REGISTRY\n"
        "from rnn_models.config import TrainConfig\n"
        "TrainConfig(cell='lstm', cell_kwargs={'use_peepholes': True, 'num_proj': 16})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not loaded, loaded\n"
        "rnn_models.load_tf1_variables  # a lazy top-level name: it loads TensorFlow only now\n"
        "assert 'tensorflow' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
