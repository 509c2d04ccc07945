"""The suite's wiring is rnnbench's pytest plugin, ``rnn_models.suite.plugin``, which pytest loads
through its ``pytest11`` entry point once the package is installed; without it, one line says so."""

import pytest


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("rnn_models.suite.plugin"):
        raise pytest.UsageError("the rnnbench suite's pytest plugin is not loaded: install the package "
                                "(pip install -e \".[test]\"), or pass -p rnn_models.suite.plugin")
