import os

# Quieter TensorFlow start-up in test logs; set before TensorFlow is first imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Under `pytest tests -n 2` this is an xdist worker, already pinned to its share of the cores
# by the root conftest. A `pytest benchmarks` that a test starts must be a session of its own,
# but pytest-benchmark reads an inherited $PYTEST_XDIST_WORKER as "an xdist worker" and turns
# itself off; so its children do not inherit the variables (they keep the worker's cores).
for _variable in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_variable, None)
