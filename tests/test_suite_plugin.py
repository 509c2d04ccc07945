"""The suite's pytest plugin (``rnn_models.suite.plugin``) is loaded in every pytest session of
the environment; it must work only in a session that runs the suite's folders (the ini's
``rnnbench_suite``), and elsewhere change nothing: no parametrisation of another project's
``cell`` or ``device``, no deselection of its ``speed`` tests, no output, no failure."""

pytest_plugins = ["pytester"]

OTHER_TESTS = """
import pytest

@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    return request.param

@pytest.mark.parametrize("cell", ["a", "b"])
def test_cell(cell, device):
    assert cell in "ab" and device in ("cpu", "cuda")

@pytest.mark.speed
def test_speed_marked():
    pass
"""


def _run(pytester, *args):
    # Named as its entry point names it, so an installed entry point and -p are one plugin.
    return pytester.runpytest_subprocess("-p", "rnn_models.suite.plugin", "-p", "no:cacheprovider", *args)


def test_the_plugin_changes_nothing_in_another_project(pytester):
    pytester.makepyfile(test_other=OTHER_TESTS)
    # Without pytest-benchmark too: rnn_models alone does not install it.
    result = _run(pytester, "-v", "-p", "no:benchmark", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    result.assert_outcomes(passed=5)
    assert result.ret == 0
    assert "rnnbench" not in result.stdout.str() + result.stderr.str()
    assert "test_cell[cpu-a]" in result.stdout.str()  # the project's own parametrisation, alone


def test_the_plugin_works_only_where_the_ini_names_the_suite(pytester):
    """In a project whose ini names ``suite`` as the suite's folder, a session of its other
    tests is left alone; one that reaches ``suite`` is checked before any test (here: it has no
    baselines folder, a usage error)."""
    pytester.makeini("[pytest]\nrnnbench_suite = suite\n")
    pytester.mkpydir("other").joinpath("test_other.py").write_text(OTHER_TESTS)
    pytester.mkdir("suite").joinpath("test_x.py").write_text("def test_x():\n    pass\n")
    other = _run(pytester, "other", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    other.assert_outcomes(passed=5)
    assert "rnnbench" not in other.stdout.str() + other.stderr.str()
    for reach in ("suite", "suite/test_x.py::test_x", "."):
        suite = _run(pytester, reach)
        assert suite.ret == 4, (reach, suite.stdout.str(), suite.stderr.str())
        assert "ERROR: --baselines baselines: does not exist" in suite.stderr.str(), reach


def test_the_suite_without_its_plugin_says_so_in_one_line(pytester):
    from pathlib import Path

    suite_conftest = Path(__file__).resolve().parents[1] / "benchmarks" / "conftest.py"
    pytester.makeconftest(suite_conftest.read_text())
    pytester.makepyfile(test_x="def test_x(cell):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:rnn_models.suite.plugin", "-p", "no:cacheprovider")
    assert result.ret == 4
    assert result.stderr.lines[0] == ("ERROR: the rnnbench suite's pytest plugin is not loaded: install the package "
                                      "(pip install -e \".[test]\"), or pass -p rnn_models.suite.plugin")
