"""The command modules' contract (``rnn_models.commands``): each exports ``NAME``, ``HELP``,
``add_arguments(parser)`` and a ``run`` whose keyword-only, annotated parameters are exactly
its arguments' names, since ``main`` calls ``run(**vars(args))``. Read from the parsers, no
command run."""

import argparse
import inspect

import pytest

from rnn_models.commands import BY_NAME, COMMANDS, build_parser


class RecordingParser(argparse.ArgumentParser):
    """An ArgumentParser that keeps the ``dest`` of every argument added to it."""

    def __init__(self):
        self.dests = []
        super().__init__(add_help=False)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        self.dests.append(action.dest)
        return action


@pytest.mark.parametrize("command", COMMANDS, ids=[c.NAME for c in COMMANDS])
def test_run_takes_exactly_the_command_arguments(command):
    parser = RecordingParser()
    command.add_arguments(parser)
    parameters = inspect.signature(command.run).parameters
    assert sorted(parameters) == sorted(parser.dests)
    assert all(p.kind is p.KEYWORD_ONLY and p.annotation is not p.empty for p in parameters.values())
    assert inspect.signature(command.run).return_annotation is int


def test_the_parser_lists_every_command_once_in_order():
    assert len(BY_NAME) == len(COMMANDS)
    usage = build_parser().format_usage()
    assert "{" + ",".join(c.NAME for c in COMMANDS) + "}" in usage
