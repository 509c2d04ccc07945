"""Reading results needs no TensorFlow: a fresh interpreter reads the committed baselines
and draws every plot (the plots themselves: tests/unit/test_plots.py)."""

import subprocess
import sys

from tests import ROOT


def test_reading_baselines_and_plotting_loads_no_tensorflow(tmp_path):
    """A fresh interpreter reads the committed baselines and draws every plot, and neither
    TensorFlow nor Keras is imported (``python -m rnn_models plot`` is this path)."""
    root = ROOT
    code = (
        "import sys\n"
        "from rnn_models.commands import main\n"
        f"assert main(['plot', '--baselines', {str(root / 'baselines')!r}, '--out', {str(tmp_path)!r}]) == 0\n"
        "import rnn_models.records.results, rnn_models.records.baselines\n"
        "from rnn_models.records.baselines import load_all\n"
        f"assert load_all({str(root / 'baselines')!r})\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["learning_curves.png", "speed.png"]
