"""Ray beyond one node: a cluster of two nodes on this machine's loopback, one of them lost in
the middle of a look. The look finishes on the other node, each seed's run counted once, with
the bits and so the verdict of the same look trained undisturbed. And an address where no
cluster listens is refused before any work, in seconds, by the suite and by the CLI."""

import os

# Before Ray loads: its local-only mode, every Ray process on 127.0.0.1 alone (see test_ray.py).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"

import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e \".[ray]\")")
# One Ray cluster at a time on this machine: under -n, this module shares a worker with the
# other Ray module.
pytestmark = pytest.mark.xdist_group("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from rnn_models.executors import TrainingPool  # noqa: E402
from rnn_models.executors.ray_executor import RayExecutor  # noqa: E402
from rnn_models.records.results import RunResult  # noqa: E402
from rnn_models.regression.accuracy import decide, policy_for, run_statistic  # noqa: E402
from tests import ROOT  # noqa: E402
from tests.integration import pool_tasks  # noqa: E402
from tests.unit.test_bad_inputs import assert_one_line_error, run_cli  # noqa: E402
from tests.integration.test_parallel import REAL_MNIST, curves, needs_mnist, small_configs  # noqa: E402

LOOPBACK = {"node_ip_address": "127.0.0.1"}


@pytest.fixture
def two_nodes():
    """A new Ray cluster of two 1-CPU nodes on 127.0.0.1: the head, which the driver joins,
    and a second node, ``(cluster, second node)``; every process of it is gone afterwards."""
    assert not ray.is_initialized(), "this process is still connected to another Ray cluster"
    cluster = Cluster(initialize_head=True, head_node_args={**LOOPBACK, "num_cpus": 1, "include_dashboard": False})
    try:
        second = cluster.add_node(**LOOPBACK, num_cpus=1)
        cluster.wait_for_nodes()
        yield cluster, second
    finally:
        ray.shutdown()
        cluster.shutdown()


def tcp_sockets_of_this_process_tree():
    """``(local, peer)`` of each TCP socket held by this process or its descendants: the
    driver and every process of a cluster it started (nodes, and their workers)."""
    links = [line.split() for line in subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True,
                                                     text=True, check=True).stdout.splitlines()]
    tree, grown = {str(os.getpid())}, True
    while grown:
        new = {pid for pid, parent in links if parent in tree} - tree
        tree, grown = tree | new, bool(new)
    sockets = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True, check=True).stdout
    return [(fields[3], fields[4]) for fields in map(str.split, sockets.splitlines())
            if any(f"pid={pid}," in fields[-1] for pid in tree)]


def on_loopback(address):
    host, port = address.rsplit(":", 1)
    return host in ("127.0.0.1", "[::ffff:127.0.0.1]") or port == "*"  # "*": a listener's open peer


def lose_node_when_marked(cluster, node, marker, seen, bound_s=120):
    """Kills ``node``'s processes as a lost host would lose them, once a run has written to
    ``marker`` (it waits on that node), after noting in ``seen`` every TCP socket of the
    driver and the cluster at that moment; returns the thread."""
    def lose():
        deadline = time.monotonic() + bound_s
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if marker.exists():
            seen.extend(tcp_sockets_of_this_process_tree())
            cluster.remove_node(node, allow_graceful=False)

    thread = threading.Thread(target=lose, daemon=True)
    thread.start()
    return thread


@needs_mnist
def test_a_look_that_loses_a_node_finishes_on_the_other_with_each_seed_once_on_loopback(two_nodes, tmp_path):
    cluster, second = two_nodes
    look = small_configs("gru", (1, 2, 3))  # a look of three new seeds
    marker = tmp_path / "stalled-on-the-lost-node"
    configs = [{**c.to_dict(), "stall_on": second.node_id, "marker": str(marker), "data": REAL_MNIST}
               for c in look]
    heard, sockets = [], []
    loser = lose_node_when_marked(cluster, second, marker, sockets)
    with RayExecutor(cluster.address, task=pool_tasks.train_unless_on_node) as executor:  # it connects
        out = executor.run(configs, on_result=lambda position, result: heard.append(position))
    loser.join()
    lost = [int(seed) for seed in marker.read_text().split()]
    assert lost, "no run reached the second node"
    assert second not in cluster.worker_nodes  # it was lost in the middle of the look
    assert sockets and all(on_loopback(a) for pair in sockets for a in pair), sockets  # loopback alone
    assert sorted(heard) == [0, 1, 2]  # each run handed over once
    assert [o["node"] for o in out] == [cluster.head_node.node_id] * 3  # the lost runs retried there
    runs = [RunResult.from_dict({k: v for k, v in o.items() if k != "node"}) for o in out]
    with TrainingPool(1) as pool:
        undisturbed = pool.run(look)
    assert [r.config for r in runs] == look  # each seed once, in order
    assert [curves(r) for r in runs] == [curves(r) for r in undisturbed]
    policy = policy_for("gru")
    stored = [run_statistic(r, policy) for r in undisturbed]
    judged = [decide(stored, [run_statistic(r, policy) for r in rs], policy.look_alpha(0), policy, (1, 2, 3))
              for rs in (runs, undisturbed)]
    assert judged[0] == judged[1]  # the same look, the same verdict


UNREACHABLE = "127.0.0.1:1"  # a port no unprivileged process listens on
REFUSED = f"{UNREACHABLE}: no Ray cluster listens there (Connection refused)"


def test_the_suite_refuses_an_address_where_no_cluster_listens_before_any_test(tmp_path):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--ray-address", UNREACHABLE,
                           "-p", "no:cacheprovider", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert errors == [f"ERROR: --ray-address {REFUSED}; start one with `ray start --head --port 1`, "
                      "or give the address it printed"], output
    assert "passed" not in output and "Traceback" not in output
    assert time.monotonic() - started < 30


def test_accuracy_check_refuses_an_address_where_no_cluster_listens(tmp_path, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("accuracy-check trained despite the address")

    monkeypatch.setattr("rnn_models.selfcheck.accuracy_check.record", fail)
    monkeypatch.setenv("RNN_MODELS_RAY_ADDRESS", UNREACHABLE)
    code, lines, usage = run_cli(capsys, ["accuracy-check", "--out", tmp_path / "gate.json"])
    assert_one_line_error("accuracy-check", code, lines, usage, [f"$RNN_MODELS_RAY_ADDRESS {REFUSED}"])
    assert not (tmp_path / "gate.json").exists()
