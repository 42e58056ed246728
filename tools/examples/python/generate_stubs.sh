#!/usr/bin/env bash
# Generates the Python modules for the warden protos into DIR, with
# Debian's python3-grpc-tools, as a Python client team would.
set -euo pipefail
out=${1:?usage: generate_stubs.sh OUTPUT_DIR}
root=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$out"
mapfile -t protos < <(cd "$root/protos" && find warden -name '*.proto' | sort)
(cd "$root/protos" &&
  /usr/bin/python3 -m grpc_tools.protoc -I. -I/usr/include \
    --python_out="$out" --grpc_python_out="$out" "${protos[@]}")
# Packages for every generated folder.
find "$out/warden" -type d -exec touch {}/__init__.py \;
