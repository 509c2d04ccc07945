"""``python -m rnn_models``: train a cell as the tutorial did, list cells, redraw plots,
profile a step, calibrate the speed gate, and bisect a regression.

One module per command, each exporting ``NAME``, ``HELP``, ``add_arguments(parser)`` and a
``run`` whose keyword parameters are its arguments' names; the parser is built from
``COMMANDS``. A command only parses and checks its arguments and prints; the work is
``rnn_models``' library calls, imported when the command runs (no TensorFlow before).
Every argument, path and stored file is checked before any training. Exit codes: 0 done;
1 a run stopped on a non-finite loss or gradient (its result is still written), or a bisect
found no single first bad commit; 2 an error, reported on one line of stderr; 130 stopped by
Ctrl-C and 143 by SIGTERM, handled alike (``rnn_models.machine.interrupts``): one line, the partial
result written when ``--out`` was given, no worker process or worktree left behind.
"""

import argparse
import sys

from rnn_models.commands import (accuracy_check, accuracy_on_device, add_reference, add_seeds, bisect,
                                 bisect_check, cells, gate_check, gate_trial, gpu_report, history, plot, profile, train)
from rnn_models.machine import interrupts

EXIT_ERROR = 2
# In the order ``--help`` lists them.
COMMANDS = (train, cells, profile, plot, history, gate_check, gate_trial, add_reference, add_seeds, accuracy_check,
            bisect, bisect_check, accuracy_on_device, gpu_report)
BY_NAME = {command.NAME: command for command in COMMANDS}


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m rnn_models", description=__doc__.split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_arguments(subparsers.add_parser(command.NAME, help=command.HELP))
    return parser


def main(argv=None):
    options = vars(build_parser().parse_args(argv))
    name = options.pop("command")
    try:
        with interrupts.handle_stop_signals():
            try:
                return BY_NAME[name].run(**options) or 0
            except KeyboardInterrupt:
                print(f"rnn_models {name}: interrupted ({interrupts.describe()})", file=sys.stderr)
                return interrupts.exit_code()
    except (ValueError, OSError, FloatingPointError, TypeError, RuntimeError) as err:
        message = " ".join(str(err).split())  # one line, however the library wrapped it
        print(f"rnn_models {name}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
