"""The five TF1 ``tf.contrib.rnn`` cells, rebuilt as Keras 3 RNN cells."""

from rnn_models.cells.basic_lstm import BasicLSTMCell
from rnn_models.cells.basic_rnn import BasicRNNCell
from rnn_models.cells.gru import GRUCell
from rnn_models.cells.layer_norm_lstm import LayerNormBasicLSTMCell
from rnn_models.cells.lstm import LSTMCell

__all__ = ["BasicLSTMCell", "BasicRNNCell", "GRUCell", "LayerNormBasicLSTMCell", "LSTMCell"]
