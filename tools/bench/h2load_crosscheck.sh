#!/usr/bin/env bash
# Cross-checks loadgen against h2load (nghttp2-client) on the no-op gRPC
# service of bench_server: both drive the same unary call with the same
# number of calls in flight (loadgen: 32 over 2 connections; h2load: 2
# connections of 16 streams), alternating, and the throughputs are written
# side by side to tools/bench/results/h2load.md.
#
#   WARDEN_BUILD_DIR=build-bench tools/bench/h2load_crosscheck.sh
#
# A gRPC unary call is an HTTP/2 POST to /<service>/<method> with
# content-type application/grpc, te: trailers and the protobuf body behind
# a 5-byte prefix (a compression flag and the big-endian length). h2load
# counts HTTP statuses and never reads the grpc-status trailer, so the body
# is first sent once through grpcio and must come back OK.
# Knobs (environment): SECONDS_PER_RUN (default 10), REPS (default 3),
# CONCURRENCY (default 32), OUT (default tools/bench/results/h2load.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${WARDEN_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
bench=$build/tools/bench
seconds=${SECONDS_PER_RUN:-10}
reps=${REPS:-3}
concurrency=${CONCURRENCY:-32}
out=${OUT:-$root/tools/bench/results/h2load.md}
command -v h2load >/dev/null || {
  echo "h2load not found: install nghttp2-client (tools/dev setup)" >&2
  exit 1
}
raw=$(mktemp -d "${TMPDIR:-/tmp}/warden-h2load-XXXXXX")
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$raw"
}
trap cleanup EXIT

"$bench/bench_server" --service=noop > "$raw/server.out" 2> "$raw/server.err" &
server_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(awk '/^PORT/{print $2}' "$raw/server.out")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$raw/server.err" >&2; exit 1; }

# The request loadgen sends to the no-op service, framed for HTTP/2.
protoc -I "$root/protos" --encode=warden.bench.v1.CheckRequest \
  "$root/protos/warden/bench/v1/noop_service.proto" > "$raw/message.bin" <<'TEXT'
check {
  subject { subject_id: "usr_aaaaaaaaaaaaaaaaaaaa" }
  permission: "inspections.view"
  item_id: "item_aaaaaaaaaaaaaaaaaaaa"
}
TEXT
/usr/bin/python3 - "$raw/message.bin" "$raw/body.bin" "127.0.0.1:$port" <<'PY'
import struct
import sys

import grpc

message = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "wb") as body:
    body.write(struct.pack(">BI", 0, len(message)) + message)
with grpc.insecure_channel(sys.argv[3]) as channel:
    check = channel.unary_unary("/warden.bench.v1.NoopService/Check")
    check(message, timeout=10)  # raises unless the server answers OK
PY

streams=$((concurrency / 2))
h2load_run() {
  h2load -c 2 -m "$streams" -D "$seconds" --warm-up-time=1 \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$raw/body.bin" \
    "http://127.0.0.1:$port/warden.bench.v1.NoopService/Check"
}
: > "$raw/runs.txt"
for rep in $(seq 1 "$reps"); do
  line=$("$bench/loadgen" --target="127.0.0.1:$port" --rpc=noop \
    --concurrency="$concurrency" --seconds="$seconds")
  echo "loadgen $line" >> "$raw/runs.txt"
  h2load_run > "$raw/h2load.$rep.txt"
  rps=$(awk '/^finished in/{gsub(",","",$4); print $4}' "$raw/h2load.$rep.txt")
  ok=$(awk '/^status codes:/{print $3}' "$raw/h2load.$rep.txt")
  failed=$(awk '/^requests:/{for(i=1;i<=NF;i++) if($(i+1)~/^failed/) print $i}' \
    "$raw/h2load.$rep.txt")
  p50=$(awk '/^time for request:/{print $6}' "$raw/h2load.$rep.txt")
  echo "h2load throughput=$rps status_2xx=$ok failed=$failed mean=$p50" \
    >> "$raw/runs.txt"
done
cp "$raw/h2load.$reps.txt" "$raw/h2load.last.txt"

/usr/bin/python3 - "$raw" "$out" "$concurrency" "$seconds" <<'PY'
import datetime
import os
import re
import statistics
import subprocess
import sys

raw, out, concurrency, seconds = sys.argv[1:5]
runs = open(os.path.join(raw, "runs.txt")).read().splitlines()
loadgen = [float(re.search(r"throughput=(\d+)", l).group(1))
           for l in runs if l.startswith("loadgen")]
h2load = [float(re.search(r"throughput=([\d.]+)", l).group(1))
          for l in runs if l.startswith("h2load")]
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                        capture_output=True, text=True).stdout.strip()
load = open("/proc/loadavg").read().split()[:3]
lines = [
    "# loadgen vs h2load on the no-op gRPC service",
    "",
    "Written by `tools/bench/h2load_crosscheck.sh`; do not edit by hand.",
    "",
    f"- date: {datetime.datetime.utcnow():%Y-%m-%dT%H:%M:%SZ}, commit {commit},"
    f" {os.cpu_count()} cores, load average after {' '.join(load)}"
    " (shared host)",
    f"- {concurrency} calls in flight over 2 HTTP/2 connections, {seconds} s"
    " per run, the two tools alternating against one `bench_server"
    " --service=noop`; h2load POSTs the same framed request loadgen sends"
    " (checked OK through grpcio first) with one client thread",
    "",
    "| run | loadgen calls/s | h2load calls/s | h2load / loadgen |",
    "|---:|---:|---:|---:|",
]
for i, (a, b) in enumerate(zip(loadgen, h2load), 1):
    lines.append(f"| {i} | {a:.0f} | {b:.0f} | {b / a:.2f}x |")
ml, mh = statistics.median(loadgen), statistics.median(h2load)
lines.append(f"| median | {ml:.0f} | {mh:.0f} | {mh / ml:.2f}x |")
lines += ["", "Raw lines:", "", "```"] + runs + ["```", "",
          "Last h2load output:", "", "```"]
lines += open(os.path.join(raw, "h2load.last.txt")).read().rstrip().splitlines()
lines += ["```", ""]
open(out, "w").write("\n".join(lines))
print(f"loadgen median {ml:.0f} calls/s, h2load median {mh:.0f} calls/s")
PY
echo "wrote $out" >&2
