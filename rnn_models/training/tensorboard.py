"""TensorBoard scalars per cell, laid out as the tutorial's ``train_<cell>``/``test_<cell>``."""

from pathlib import Path

import tensorflow as tf


class TensorBoardLog:
    def __init__(self, logdir, cell):
        logdir = Path(logdir)
        self._train = tf.summary.create_file_writer(str(logdir / f"train_{cell}"))
        self._test = tf.summary.create_file_writer(str(logdir / f"test_{cell}"))

    def train(self, window):
        """One ``TrainWindow``, at its global step."""
        self._write(self._train, window)

    def test(self, epoch):
        """One ``TestEpoch``, at the global step it was taken after."""
        self._write(self._test, epoch)

    @staticmethod
    def _write(writer, record):
        with writer.as_default(step=record.step):
            tf.summary.scalar("loss", record.loss)
            tf.summary.scalar("accuracy", record.accuracy_mean)
            tf.summary.scalar("accuracy_min", record.accuracy_min)
            tf.summary.scalar("sec_per_iter", record.sec_per_iter)
        writer.flush()
