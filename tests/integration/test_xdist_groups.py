"""Under ``-n``, the suite's own configuration (the root conftest) makes pytest-xdist keep a
cell's tests on one worker, so that its run trains once there."""

import re

import pytest

from tests import ROOT

pytest_plugins = ["pytester"]

ROOT_CONFTEST = ROOT / "conftest.py"


def test_tests_of_one_xdist_group_share_a_worker_under_plain_dash_n(pytester):
    pytest.importorskip("xdist")
    pytester.makeconftest(ROOT_CONFTEST.read_text())
    pytester.makepyfile(test_groups="""
        import pytest

        CELLS = [pytest.param(c, marks=pytest.mark.xdist_group(c)) for c in ("a", "b", "c")]

        @pytest.mark.parametrize("cell", CELLS)
        @pytest.mark.parametrize("k", range(3))
        def test_run(cell, k, request):
            # xdist's loadgroup schedules by this suffix of the worker's test id
            assert request.node.nodeid.endswith("@" + cell), request.node.nodeid
    """)
    result = pytester.runpytest_subprocess("-n", "2", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    workers = {}
    for worker, cell in re.findall(r"\[(gw\d)\] .*PASSED .*test_run\[\d-(\w)\]", result.stdout.str()):
        workers.setdefault(cell, set()).add(worker)
    assert sorted(workers) == ["a", "b", "c"]
    assert all(len(seen) == 1 for seen in workers.values()), workers
