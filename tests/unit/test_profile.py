"""The per-op profile: op types counted per step from a real tf.profiler trace."""

import pytest
import tensorflow as tf

from rnn_models.commands import main
from rnn_models.speed.profile import _op, _part, format_profile, profile_step


def test_profile_counts_each_op_type_per_step():
    a = tf.random.stateless_uniform((64, 64), seed=(1, 2))

    @tf.function
    def three_matmuls():
        return tf.reduce_sum(tf.matmul(tf.matmul(tf.matmul(a, a), a), a))

    float(three_matmuls())
    profile = profile_step(lambda: float(three_matmuls()), steps=4)
    calls = {row.name: row.calls_per_step for row in profile.ops}
    # Where oneDNN is on, TensorFlow rewrites MatMul into its _MklMatMul kernel.
    assert calls.get("MatMul", 0) + calls.get("_MklMatMul", 0) == 3 and calls["Sum"] == 1
    assert profile.wall_ms_per_step > 0 and all(row.ms_per_step >= 0 for row in profile.ops)
    assert "MatMul" in format_profile(profile)  # either name


@pytest.mark.parametrize("event, expected", [
    ("lstm_classifier_1/rnn/lstm_cell/MatMul:MatMul", ("lstm_classifier_1/rnn/lstm_cell/MatMul", "MatMul")),
    ("ExecutorState::Process", None),  # the executor's own bookkeeping
    ("ParallelFor:ParallelFor", None),  # work-sharing inside an op: counting it counts twice
    ("FunctionRun: __inference_train_step_12", None),  # the whole function, not one op
])
def test_only_graph_ops_are_counted(event, expected):
    assert _op(event) == expected


def test_ops_are_split_into_forward_backward_optimizer_and_other():
    assert _part("lstm_classifier_1/rnn/lstm_cell_3/Sigmoid") == "forward (model)"
    assert _part("gradient_tape/lstm_classifier_1/rnn/MatMul_1") == "backward"
    assert _part("adam/Sub_2") == "optimizer"
    assert _part("clip_by_global_norm/mul") == "other (loss, clipping, feeding)"


def test_cli_profile_prints_the_table(capsys):
    assert main(["profile", "--cell", "basic_rnn", "--steps", "2", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "basic_rnn train step" in out and "MatMul" in out and "backward" in out
