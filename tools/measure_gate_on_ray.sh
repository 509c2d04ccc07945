#!/usr/bin/env bash
# The accuracy gate's wall time with its runs on a local Ray cluster of N workers (N CPUs), for
# each N given (default: 1, then 2), each on a new cluster that listens on 127.0.0.1 only;
# `local` instead of N: in the local pool, without Ray (one worker per core).
#
#   tools/measure_gate_on_ray.sh              # N = 1, then N = 2
#   tools/measure_gate_on_ray.sh local 1 2 4
#   GATE="--cells basic_rnn -k no_nan" tools/measure_gate_on_ray.sh 2    # a one-run check of the set-up
#
# The gate by default: every cell on its statistical path, as docs/executors.md's xdist table measured
# it (`pytest benchmarks -m gates_accuracy --accuracy-statistical`). Run it with nothing else on
# the machine. One line per N; pytest's and the cluster's output go to a folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."

export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0  # Ray's local-only mode: its processes listen on 127.0.0.1 alone
export RAY_USAGE_STATS_ENABLED=0
export RAY_AUTH_MODE=token  # the driver sends the token that `ray start` keeps in ~/.ray/auth_token
address="127.0.0.1:${RAY_PORT:-6390}"
read -r -a gate <<<"${GATE:--m gates_accuracy --accuracy-statistical}"
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(1 2)
logs="$(mktemp -d -t rnnbench-ray-gate.XXXXXX)"
head=""
stop_head() {
  if [ -n "$head" ]; then
    kill -TERM "$head" 2>/dev/null || true
    wait "$head" 2>/dev/null || true  # `ray start --block` stops the cluster's processes on SIGTERM
    head=""
  fi
  # The stopped cluster's address, which a later `ray.init()` here would try to join.
  if [ "$(cat /tmp/ray/ray_current_cluster 2>/dev/null)" = "$address" ]; then
    rm -f /tmp/ray/ray_current_cluster
  fi
}
trap stop_head EXIT

time_gate() {  # time_gate NAME [pytest options...]: the gate's wall time, one line
  local name=$1 started rc=0
  shift
  started=$(date +%s)
  python -m pytest benchmarks "${gate[@]}" "$@" -p no:cacheprovider >"$logs/pytest-$name.log" 2>&1 || rc=$?
  echo "$name: $(( $(date +%s) - started )) s, pytest exit $rc ($(tail -n 1 "$logs/pytest-$name.log"))"
}

for n in "${counts[@]}"; do
  if [ "$n" = local ]; then
    time_gate local-pool
    continue
  fi
  setsid ray start --head --block --node-ip-address 127.0.0.1 --port "${address#*:}" --num-cpus "$n" \
    --include-dashboard=false >"$logs/ray-head-$n.log" 2>&1 &
  head=$!
  for _ in $(seq 120); do  # the cluster takes a few seconds to answer
    ray status --address "$address" >/dev/null 2>&1 && break
    sleep 1
  done
  if ! ray status --address "$address" >/dev/null 2>&1; then
    echo "no Ray cluster at $address: see $logs/ray-head-$n.log" >&2
    exit 1
  fi
  time_gate "ray-$n-workers" --ray-address "$address"
  stop_head
done
echo "logs: $logs"
