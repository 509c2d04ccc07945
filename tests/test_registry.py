"""The registry: declared arguments match the real signatures, configs are checked without
building a layer, and the light modules load no TensorFlow."""

import inspect
import subprocess
import sys

import pytest

from rnn_models.config import TrainConfig
from rnn_models.registry import REGISTRY, Arg, parse_cell_list


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.arguments is not None])
def test_declared_arguments_are_the_constructors(name):
    spec = REGISTRY[name]
    params = inspect.signature(spec.make_cell.__init__).parameters
    own = [p for p in params if p not in ("self", "units", "kwargs")]
    assert list(spec.arguments) == own
    for arg, declared in spec.arguments.items():
        default = params[arg].default
        assert declared.problem(default) is None, f"{name}.{arg}: default {default!r} does not fit {declared}"


def test_suite_arguments_fit_the_declarations():
    for spec in REGISTRY.values():
        spec.check_arguments(spec.suite_kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"cell": "ln_basic_lstm", "cell_kwargs": {"dropout_keep_prob": "abc"}},
     "`dropout_keep_prob` of cell 'ln_basic_lstm': expected a number, got 'abc'"),
    ({"cell_kwargs": {"forget_bias": "abc"}}, "`forget_bias` of cell 'lstm': expected a number"),
    ({"cell_kwargs": {"forget_bias": float("nan")}}, "expected a finite number"),
    ({"cell_kwargs": {"use_peepholes": 1}}, "expected True or False, got 1"),
    ({"cell_kwargs": {"num_proj": 2.5}}, "expected None or an integer, got 2.5"),
    ({"cell_kwargs": {"bogus": 1}}, "Unknown argument `bogus` for cell 'lstm'; it takes: use_peepholes"),
    ({"cell_kwargs": {1: 2}}, "`cell_kwargs` must be a dict of argument names"),
    ({"cell": "nope"}, "Unknown cell 'nope'"),
])
def test_cell_arguments_are_checked_without_building_a_layer(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(**kwargs)


def test_arg_kinds():
    assert Arg("float").problem(1) is None and Arg("float").problem(True) is not None
    assert Arg("int", optional=True).problem(None) is None and Arg("int").problem(None) is not None
    assert Arg("str").problem("tanh") is None and Arg("bool").problem("yes") is not None


def test_cell_lists_take_commas_or_spaces():
    assert parse_cell_list("lstm,gru") == parse_cell_list(["lstm", "gru"]) == ["lstm", "gru"]
    assert parse_cell_list(["lstm,gru", "lstm", " basic_rnn "]) == ["lstm", "gru", "basic_rnn"]
    with pytest.raises(ValueError, match="Unknown cell\\(s\\) foo"):
        parse_cell_list("lstm,foo")
    with pytest.raises(ValueError, match="No cell named"):
        parse_cell_list(",")


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
