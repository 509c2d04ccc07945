"""The options that the suite (``pytest benchmarks``) and the CLI (``python -m rnn_models``)
share, defined once: ``OPTIONS`` maps each flag to its argparse attributes, and
``add_options(add, *flags, **changes)`` adds them through argparse's ``add_argument`` or
pytest's ``addoption``. The suite's own flags are here too, so its option list is one table."""

import argparse

from rnn_models.records.baselines import BASELINE_DIR
from rnn_models.registry import parse_cell_list


def cell_list(text):
    """``a,b`` -> ``["a", "b"]``, each a registry name (argparse's ``type``)."""
    try:
        return parse_cell_list(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


OPTIONS = {
    "--cells": dict(type=cell_list, default=None, metavar="A,B",
                    help="registry names, comma-separated (default: the tutorial's five)"),
    "--baselines": dict(default=str(BASELINE_DIR), metavar="DIR",
                        help=f"the baselines folder: seed distributions, stored speed run, calibrations "
                             f"(default: {BASELINE_DIR})"),
    "--data": dict(default=None, metavar="PATH",
                   help="MNIST file or folder (default: $RNN_MODELS_MNIST, Keras' cache, download)"),
    "--ray-address": dict(default=None, metavar="auto|HOST:PORT",
                          help="train the runs on this Ray cluster (pip install \"rnn_models[ray]\"; "
                               "default: $RNN_MODELS_RAY_ADDRESS, else worker processes on this machine)"),
    # The suite's own.
    "--epochs": dict(type=int, default=None,
                     help="epochs of the accuracy runs (default: the tutorial's 10; a baseline made "
                          "with other epochs is refused)"),
    "--update-baselines": dict(action="store_true",
                               help="record the baselines from this run: each tutorial cell's seed "
                                    "distribution, the numerics outcomes and the speed run; written "
                                    "together, only if every test passes"),
    "--plots": dict(default=None, metavar="DIR",
                    help="after the run, draw learning-curve, speed and baseline plots into DIR"),
    "--accuracy-statistical": dict(action="store_true",
                                   help="judge accuracy over seeds even when seed 0 reproduces the "
                                        "stored run bit for bit (the path a changed model takes)"),
    "--ab-ref": dict(default=None, metavar="REF",
                     help="the git ref the speed A/B times against (default: the commit that "
                          "recorded the stored speed run)"),
    "--no-ab": dict(action="store_true",
                    help="gate speed on the stored run alone (the fallback rules), no A/B"),
    "--report": dict(default=None, metavar="FILE.html",
                     help="write the run's page to FILE.html (one offline file: every verdict with its "
                          "interval, each seed, the learning curves, the budget) and its data to FILE.json"),
    "--speed-summary": dict(default=None, metavar="FILE",
                            help="write the speed gate's verdicts as Markdown to FILE (a CI job summary)"),
}
SUITE_OPTIONS = ("--cells", "--epochs", "--update-baselines", "--plots", "--baselines",
                 "--accuracy-statistical", "--ab-ref", "--no-ab", "--speed-summary", "--ray-address",
                 "--report")


def add_options(add, *flags, **changes):
    """Adds each of ``flags`` through ``add(flag, **attributes)``; ``changes`` replaces some
    attributes, by the flag's name without dashes (``cells={"required": True}``)."""
    for flag in flags:
        attributes = {**OPTIONS[flag], **changes.get(flag.lstrip("-").replace("-", "_"), {})}
        add(flag, **attributes)
