"""TensorBoard scalars per cell, laid out as the tutorial's ``train_<cell>``/``test_<cell>``."""

from pathlib import Path

import tensorflow as tf


class TensorBoardLog:
    def __init__(self, logdir, cell):
        logdir = Path(logdir)
        self._train = tf.summary.create_file_writer(str(logdir / f"train_{cell}"))
        self._test = tf.summary.create_file_writer(str(logdir / f"test_{cell}"))

    def train(self, window):
        with self._train.as_default(step=window.step):
            tf.summary.scalar("loss", window.loss)
            tf.summary.scalar("accuracy", window.accuracy_mean)
            tf.summary.scalar("accuracy_min", window.accuracy_min)
            tf.summary.scalar("sec_per_iter", window.sec_per_iter)
        self._train.flush()

    def test(self, epoch):
        with self._test.as_default(step=epoch.step):
            tf.summary.scalar("loss", epoch.loss)
            tf.summary.scalar("accuracy", epoch.accuracy_mean)
            tf.summary.scalar("accuracy_min", epoch.accuracy_min)
            tf.summary.scalar("sec_per_iter", epoch.sec_per_iter)
        self._test.flush()
