#!/usr/bin/env bash
# Synced writes: the store's group commit at 1, 8 and 32 concurrent writers,
# next to RocksDB's own single-writer fillsync (db_bench from rocksdb-tools)
# on the same disk in the same run. Writes tools/bench/results/group_commit.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${WARDEN_BUILD_DIR:-$root/build}
out=$root/tools/bench/results/group_commit.txt
scratch=$(mktemp -d "${TMPDIR:-/tmp}/warden-bench-XXXXXX")
trap 'rm -rf "$scratch"' EXIT

writes=${WRITES:-3200}
{
  echo "# synced writes, $(date -u +%Y-%m-%dT%H:%M:%SZ)," \
       "commit $(git -C "$root" rev-parse --short HEAD), $(nproc) cores"
  db_bench --benchmarks=fillsync --num="$writes" --value_size=200 \
    --db="$scratch/db_bench" 2>/dev/null | grep '^fillsync' |
    awk '{print "db_bench_fillsync_ops_per_second=" $5}'
  "$build/tools/bench/store_write_bench" --dir="$scratch/store" \
    --writes="$writes" --clients=1,8,32 2>/dev/null | grep '^clients='
} | tee "$out"
