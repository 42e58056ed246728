#!/usr/bin/env bash
# Runs every benchmark and writes tools/bench/results/latest.md.
#
#   WARDEN_BUILD_DIR=build-bench tools/bench/run_all.sh
#
# Builds nothing: configure a Release build and build it first (the bench
# targets are part of the normal build). Takes about 10 minutes on 2 cores.
# Knobs (environment): LARGE_GRANTS (grants in the "large" dataset; default
# 1000000, see the README for why not 10M), RPC_DATASET (the replica behind
# the gRPC runs; default medium), RPC_SECONDS (per run; default 10), REPS
# (repetitions of each gRPC run; default 3), CONCURRENCY (closed loop;
# default 32), LARGE_DATASET (default large; "small" for a quick dry run),
# REVOKES (revokes per sidecar count; default 300), FANOUT_RATE (paced
# writes per second of the Watch fan-out run; default 200).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${WARDEN_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
bench=$build/tools/bench
out=$root/tools/bench/results/latest.md
large_dataset=${LARGE_DATASET:-large}
large_grants=${LARGE_GRANTS:-1000000}
rpc_dataset=${RPC_DATASET:-medium}
rpc_seconds=${RPC_SECONDS:-10}
reps=${REPS:-3}
concurrency=${CONCURRENCY:-32}
revokes=${REVOKES:-300}
fanout_rate=${FANOUT_RATE:-200}
raw=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench-all-XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$raw"
}
trap cleanup EXIT

for binary in index_bench bench_server loadgen store_write_bench \
              revoke_propagation_bench growth_bench watch_fanout_bench; do
  [[ -x $bench/$binary ]] || {
    echo "missing $bench/$binary: build it first (WARDEN_BUILD_DIR=$build)" >&2
    exit 1
  }
done

# Starts bench_server with the given flags; sets server_pid and port.
start_server() {
  "$bench/bench_server" "$@" > "$raw/server.out" 2> "$raw/server.err" &
  server_pid=$!
  for _ in $(seq 1 600); do
    port=$(awk '/^PORT/{print $2}' "$raw/server.out")
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$raw/server.err" >&2; exit 1; }
    sleep 0.5
  done
  echo "bench_server did not start" >&2
  exit 1
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit=$(git -C "$root" rev-parse --short HEAD)"
  echo "nproc=$(nproc)"
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
  echo "cpu=$cpu"
  echo "memory_gb=$(awk '/MemTotal/{printf "%.0f", $2/1048576}' /proc/meminfo)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "large_dataset=$large_dataset"
  echo "large_grants=$large_grants"
  echo "rpc_dataset=$rpc_dataset"
} > "$raw/machine.txt"

echo "== group commit" >&2
WARDEN_BUILD_DIR=$build "$root/tools/bench/group_commit.sh" > "$raw/group.txt"

echo "== index microbenchmarks (large, $large_grants grants)" >&2
"$bench/index_bench" --dataset="$large_dataset" --grants="$large_grants" \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.2 --benchmark_format=json \
  > "$raw/index.json" 2> "$raw/index.err"

echo "== gRPC: no-op ceiling vs AuthzService Check ($rpc_dataset)" >&2
: > "$raw/grpc.txt"
for rep in $(seq 1 "$reps"); do
  start_server --service=noop
  "$bench/loadgen" --target="127.0.0.1:$port" --rpc=noop \
    --concurrency="$concurrency" --seconds="$rpc_seconds" >> "$raw/grpc.txt"
  stop_server
  start_server --service=authz --dataset="$rpc_dataset" \
    --probes="$raw/probes.txt"
  "$bench/loadgen" --target="127.0.0.1:$port" --rpc=check \
    --probes="$raw/probes.txt" --concurrency="$concurrency" \
    --seconds="$rpc_seconds" >> "$raw/grpc.txt"
  if [[ $rep -lt $reps ]]; then stop_server; fi
done
# Open loop at half the median closed-loop Check throughput, and BatchCheck.
half=$(grep '^rpc=check mode=closed' "$raw/grpc.txt" |
  sed 's/.*throughput=\([0-9]*\).*/\1/' | sort -n |
  awk '{v[NR]=$1} END {print int(v[int((NR+1)/2)]/2)}')
for rep in $(seq 1 "$reps"); do
  "$bench/loadgen" --target="127.0.0.1:$port" --rpc=check \
    --probes="$raw/probes.txt" --rate="$half" --seconds="$rpc_seconds" \
    >> "$raw/grpc.txt"
done
for rep in $(seq 1 "$reps"); do
  "$bench/loadgen" --target="127.0.0.1:$port" --rpc=batch --batch=100 \
    --probes="$raw/probes.txt" --concurrency=8 --seconds="$rpc_seconds" \
    >> "$raw/grpc.txt"
done
stop_server

echo "== cold start (large, $large_grants grants)" >&2
"$bench/bench_server" --coldstart --dataset="$large_dataset" \
  --grants="$large_grants" \
  > "$raw/cold.txt" 2> "$raw/cold.err"
echo "== revoke propagation (1 and 16 sidecars)" >&2
"$bench/revoke_propagation_bench" --sidecars=1,16 --revokes="$revokes" \
  --poll=rpc > "$raw/revoke.txt" 2> "$raw/revoke.err"

echo "== growth (Check and ListAccessible by data shape)" >&2
"$bench/growth_bench" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true --benchmark_min_time=0.1 \
  --benchmark_format=json > "$raw/growth.json" 2> "$raw/growth.err"

echo "== Watch fan-out (0, 1, 4, 16, 64 followers)" >&2
"$bench/watch_fanout_bench" --token-service="$build/services/token_service/token_service" \
  --followers=0,1,4,16,64 --seconds="$rpc_seconds" --rate="$fanout_rate" \
  --out="$raw/fanout.md" > /dev/null 2> "$raw/fanout.err"
"$bench/watch_fanout_bench" --token-service="$build/services/token_service/token_service" \
  --followers=0,1,4,16,64 --seconds="$rpc_seconds" --rate=0 \
  --out="$raw/fanout.md" > /dev/null 2>> "$raw/fanout.err"

echo "== h2load cross-check of loadgen (no-op call)" >&2
WARDEN_BUILD_DIR=$build OUT="$raw/h2load.md" REPS="$reps" \
  SECONDS_PER_RUN="$rpc_seconds" CONCURRENCY="$concurrency" \
  "$root/tools/bench/h2load_crosscheck.sh" > /dev/null 2> "$raw/h2load.err"

echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$raw/machine.txt"

/usr/bin/python3 "$root/tools/bench/report.py" "$raw" "$out"
echo "wrote $out" >&2
