"""Loading a TF1 cell's weights by their TF1 checkpoint names.

A user migrating from ``tf.contrib.rnn`` gets the same outputs from the same weights:
names are those of a TF1 checkpoint, relative to the cell's scope (``kernel``,
``projection/kernel``, ``gates/bias``, ``input/gamma``, ...) or with a scope prefix
(``rnn/lstm_cell/kernel``), and may come from a dict or a real TF1 checkpoint file.
"""

import os

import numpy as np
import tensorflow as tf


def _relative_name(name, known):
    """The longest entry of ``known`` that ``name`` ends with, at a ``/`` boundary."""
    matches = [k for k in known if name == k or name.endswith("/" + k)]
    return max(matches, key=len) if matches else None


def _build_from_kernel(cell, kernel):
    """Builds an unbuilt cell for the input size implied by its TF1 kernel ``[I + H, *]``."""
    recurrent = cell.state_size[-1]
    features = np.shape(kernel)[0] - recurrent
    if features <= 0:
        raise ValueError(
            f"Cannot build {type(cell).__name__} from a kernel of shape {np.shape(kernel)}: "
            f"it needs more than {recurrent} rows (input features + {recurrent} recurrent)."
        )
    cell.build((None, features))


def read_tf1_checkpoint(path, scope):
    """``{name relative to scope: array}`` for the variables under ``scope`` in a TF1
    checkpoint (optimizer slots such as ``kernel/Adam`` are left out by the caller)."""
    reader = tf.train.load_checkpoint(os.fspath(path))
    prefix = scope.rstrip("/") + "/"
    found = {
        name[len(prefix):]: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name.startswith(prefix)
    }
    if not found:
        raise ValueError(f"No variable under scope {scope!r} in the checkpoint {path}.")
    return found


def load_tf1_variables(cell, source, scope=None):
    """Assigns TF1-named weights to ``cell`` (built on first use if needed).

    ``source`` is ``{tf1_name: array}`` or the path of a TF1 checkpoint. From a dict,
    every name must be one of the cell's and every one of the cell's must be given.
    From a checkpoint, the variables under ``scope`` (default: the cell's TF1 default
    scope, e.g. ``rnn/lstm_cell``) are read and names the cell does not have (optimizer
    slots) are skipped. A wrong name or shape raises a ValueError naming it.
    """
    if not hasattr(cell, "tf1_variables"):
        raise ValueError(f"{type(cell).__name__} is not a TF1 cell: it has no TF1 names.")
    from_checkpoint = not isinstance(source, dict)
    if from_checkpoint:
        source = read_tf1_checkpoint(source, scope or cell.tf1_scope)

    known = cell.tf1_variables() if cell.built else _unbuilt_names(cell)
    arrays = {}
    for name, value in source.items():
        relative = _relative_name(name, known)
        if relative is None:
            if from_checkpoint:
                continue
            raise ValueError(
                f"Unknown TF1 variable {name!r} for {type(cell).__name__}; "
                f"expected names: {', '.join(sorted(known))}."
            )
        arrays[relative] = np.asarray(value)
    missing = sorted(set(known) - set(arrays))
    if missing:
        raise ValueError(f"Missing TF1 variables for {type(cell).__name__}: {', '.join(missing)}.")

    if not cell.built:
        _build_from_kernel(cell, arrays[_kernel_name(known)])
    variables = cell.tf1_variables()
    for name, array in arrays.items():
        variable = variables[name]
        if tuple(array.shape) != tuple(variable.shape):
            raise ValueError(
                f"TF1 variable {name!r} has shape {tuple(array.shape)}, "
                f"but {type(cell).__name__} expects {tuple(variable.shape)}."
            )
    for name, array in arrays.items():
        variables[name].assign(array.astype(variables[name].dtype))
    return cell


def _kernel_name(names):
    return "gates/kernel" if "gates/kernel" in names else "kernel"


def _unbuilt_names(cell):
    """The TF1 names of an unbuilt cell, read from a throwaway build at input size 1."""
    probe = type(cell).from_config(cell.get_config())
    probe.build((None, 1))
    return probe.tf1_variables()
