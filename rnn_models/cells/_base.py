"""What every TF1 cell shares: argument checks and the TF1 variable names.

A TF1 cell is a Keras 3 RNN cell (``call(inputs, states) -> (output, new_states)``,
``state_size``, ``output_size``) that also knows the names its variables had in a TF1
checkpoint, relative to the cell's scope (``tf1_scope``, e.g. ``rnn/lstm_cell``).
"""

import keras


def check_positive_int(name, value):
    """Return ``value`` if it is a positive int, else raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected a positive integer, got {value!r}."
        )
    return value


def check_optional_positive(name, value):
    """Return ``value`` as a float if it is None or > 0, else raise a ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`, "
            f"expected None or a positive number, got {value!r}."
        )
    return float(value)


class TF1Cell(keras.layers.Layer):
    """Base of the faithful TF1 cells.

    Subclasses set ``tf1_scope`` (the TF1 default variable scope under ``rnn/``) and
    implement ``tf1_variables()``, the map from TF1 checkpoint name to Keras variable.
    """

    tf1_scope = None

    def _add_kernel(self, features, gates):
        """TF1's kernel over ``[x, h]``: ``[features + units, gates * units]``, glorot_uniform."""
        return self.add_weight(shape=(features + self.units, gates * self.units), name="kernel",
                               initializer="glorot_uniform")

    def _check_step_input(self, input_shape):
        """Checks one step's input shape ``[batch, features]`` and returns ``features``."""
        if len(input_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects one time step of shape [batch, features], "
                f"received input of rank {len(input_shape)} with shape {tuple(input_shape)}."
            )
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size, "
                f"received input shape {tuple(input_shape)}."
            )
        return int(features)

    def tf1_variables(self):
        """Returns ``{tf1_name: keras.Variable}``, names relative to ``tf1_scope``."""
        raise NotImplementedError

    def get_initial_state(self, batch_size=None):
        return [
            keras.ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]
