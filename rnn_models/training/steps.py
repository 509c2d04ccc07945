"""The compiled train and test steps: one ``tf.function`` each, optionally XLA-compiled.

Both return tensors only; the caller reads the loss back, which also synchronises the
device, so a step's wall time is the step's own.
"""

import keras
import tensorflow as tf

from rnn_models.config import PHASES


def _loss_and_accuracy(labels, logits):
    """Mean sparse cross-entropy and batch accuracy; labels ``[B]`` int32, logits ``[B, 10]``."""
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )
    hits = tf.equal(tf.argmax(logits, axis=-1, output_type=labels.dtype), labels)
    return loss, tf.reduce_mean(tf.cast(hits, tf.float32))


# TF1's AdamOptimizer used epsilon 1e-8; Keras' default is 1e-7. A module constant, so the
# accuracy gate's calibration can perturb it (rnn_models.selfcheck.accuracy_check).
ADAM_EPSILON = 1e-8


def make_optimizer(config):
    return keras.optimizers.Adam(learning_rate=config.learning_rate, epsilon=ADAM_EPSILON)


def make_train_step(model, optimizer, config):
    """``step(x [B,T,F] float32, y [B] int32) -> (loss, accuracy, grad_norm, finite [V] bool)``.

    ``finite[k]`` says whether the gradient of ``model.trainable_variables[k]`` was finite.
    With ``config.clip_norm`` the gradients are clipped by global norm (a non-finite norm
    makes every clipped gradient NaN, as ``tf.clip_by_global_norm`` always did). With
    ``config.check_numerics`` an update with any non-finite gradient is not applied, so the
    caller can stop there and name the variables.
    """
    variables = model.trainable_variables
    optimizer.build(variables)

    def apply(grads):
        optimizer.apply_gradients(zip(grads, variables))
        return tf.constant(True)

    @tf.function(jit_compile=config.use_xla, reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss, accuracy = _loss_and_accuracy(y, model(x, training=True))
        grads = tape.gradient(loss, variables)
        grad_norm = tf.linalg.global_norm(grads)
        finite = tf.stack([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        if config.clip_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, config.clip_norm, use_norm=grad_norm)
        if config.check_numerics:
            tf.cond(tf.reduce_all(finite), lambda: apply(grads), lambda: tf.constant(False))
        else:
            apply(grads)
        return loss, accuracy, grad_norm, finite

    return train_step


def make_test_step(model, config):
    """``step(x, y) -> (loss, accuracy)`` in inference mode."""

    @tf.function(jit_compile=config.use_xla, reduce_retracing=True)
    def test_step(x, y):
        return _loss_and_accuracy(y, model(x, training=False))

    return test_step


def make_step(model, config, phase):
    """The compiled step of ``phase`` (one of PHASES): the train step with a fresh
    optimizer, or the test step. Both take ``(x, y)`` and return the loss first."""
    if phase == "train":
        return make_train_step(model, make_optimizer(config), config)
    if phase == "inference":
        return make_test_step(model, config)
    raise ValueError(f"Unknown phase {phase!r}; valid: {', '.join(PHASES)}.")


def traced_kernel_path(step, x, y, expected):
    """The recurrent kernel ``step`` (a compiled step) really traced for ``(x, y)``: "cuDNN"
    when its graph holds a cuDNN RNN op, else ``expected`` (the registry's answer,
    ``rnn_models.machine.environment.kernel_path``) unless that claimed cuDNN, which Keras can
    decline (then the generic loop). Reads the cached trace; runs nothing."""
    from rnn_models.registry import GENERIC_LOOP

    ops = {op.type for op in step.get_concrete_function(x, y).graph.get_operations()}
    if any(t.startswith("CudnnRNN") for t in ops):
        return "cuDNN"
    return GENERIC_LOOP if expected == "cuDNN" else expected
