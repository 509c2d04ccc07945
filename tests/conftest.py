import os

# Quieter TensorFlow start-up in test logs; set before TensorFlow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Under `pytest tests -n 2` this is an xdist worker, already pinned to its share of the cores
# by the root conftest. A `pytest benchmarks` that a test starts must be a session of its own,
# but pytest-benchmark reads an inherited $PYTEST_XDIST_WORKER as "an xdist worker" and turns
# itself off; so its children do not inherit the variables (they keep the worker's cores).
for _variable in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_variable, None)


def pytest_collection_modifyitems(items):
    """Tests marked ``heavy`` first (a stable sort): under ``-n``, xdist hands out tests and
    groups in this order, so the long chains start at once and the short ones fill in after."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)
