"""A Ray cluster of several nodes on this machine's loopback, to try ``--ray-address`` beyond one
node without a second host: the head and each further node are separate raylets (each with its
own object store and workers), every Ray process listens on 127.0.0.1 alone, no dashboard.

    python tools/loopback_cluster.py --nodes 2 --cpus 1
    # address 127.0.0.1:PORT
    # node 1 (head) raylet pid P1
    # node 2 raylet pid P2        <- kill -9 P2 and its workers to lose that node

It runs until Ctrl-C or SIGTERM, then stops every process it started. ``ray start --address``
cannot add a node here: in Ray's local-only mode (what keeps it on loopback) it refuses to.
"""

import argparse
import os
import signal

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray loads: every socket on 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray.cluster_utils import Cluster  # noqa: E402

LOOPBACK = {"node_ip_address": "127.0.0.1"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2, help="nodes, the head included (default 2)")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of each node (default 1)")
    args = parser.parse_args(argv)
    cluster = Cluster(initialize_head=True,
                      head_node_args={**LOOPBACK, "num_cpus": args.cpus, "include_dashboard": False})
    try:
        for _ in range(args.nodes - 1):
            cluster.add_node(**LOOPBACK, num_cpus=args.cpus)
        cluster.wait_for_nodes()
        print(f"address {cluster.address}", flush=True)
        for k, node in enumerate(cluster.list_all_nodes(), 1):
            raylet = node.all_processes["raylet"][0].process.pid
            print(f"node {k}{' (head)' if k == 1 else ''} raylet pid {raylet}", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM stops it as Ctrl-C does
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
