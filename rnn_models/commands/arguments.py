"""The argument types the commands share: each parses one command-line word or raises
argparse's ``ArgumentTypeError``, which argparse reports as ``rnn_models <cmd>: error: ...``."""

import argparse
import ast
import math
import sys

from rnn_models.config import PHASES
from rnn_models.registry import REGISTRY


def cell_arg(text):
    """``key=value`` with a Python literal value (``use_peepholes=True``, ``num_proj=16``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value  # a bare word, e.g. activation=relu


def int_at_least(minimum, expected):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


positive_int = int_at_least(1, "a positive integer")
seed = int_at_least(0, "an integer >= 0")


def finite_positive(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text}")
    return value


def fraction(text):
    value = finite_positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text}")
    return value


def step(text):
    """``CELL:PHASE``, a gated step (``basic_lstm:train``)."""
    cell, _, phase = text.partition(":")
    if cell not in REGISTRY or phase not in PHASES:
        raise argparse.ArgumentTypeError(f"expected CELL:PHASE with a cell of {', '.join(REGISTRY)} and a "
                                         f"phase of {', '.join(PHASES)}, got {text!r}")
    return cell, phase


def variant(text):
    from rnn_models.training.variants import check_variant

    try:
        check_variant(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def perturbation(text):
    """``CELL:VARIANT``; the variant is checked here, the cell against --cells by the command."""
    name = text.partition(":")[2]
    if name:
        variant(name)
    return text


def command_line():
    """The command as the user typed it, for a result file's ``command`` field."""
    return " ".join(["python -m rnn_models", *sys.argv[1:]])
