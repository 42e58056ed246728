#!/usr/bin/env bash
# Contract test: the protos pass `buf lint` with protos/buf.yaml (STANDARD
# and COMMENTS). buf comes from npm; `tools/dev setup` installs it.
set -euo pipefail

root="${WARDEN_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
buf="$root/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  echo "buf_lint_test: $buf is missing; run tools/dev setup" >&2
  exit 1
fi

cd "$root/protos"
if "$buf" lint --error-format=text; then
  echo "buf_lint_test: protos pass buf lint"
else
  echo "buf_lint_test: buf lint found the problems above" >&2
  exit 1
fi
