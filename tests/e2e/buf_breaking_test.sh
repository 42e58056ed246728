#!/usr/bin/env bash
# Contract test: the protos in the working tree break no client generated
# from the previous commit's protos (`buf breaking`, FILE rules from
# protos/buf.yaml). Other teams generate their clients from these files, so
# a field renumbered or removed by accident fails here. A deliberate break
# needs a new package version (v2), not an edit of v1.
set -euo pipefail

root="${WARDEN_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
buf="$root/node_modules/.bin/buf"
if [[ ! -x "$buf" ]]; then
  echo "buf_breaking_test: $buf is missing; run tools/dev setup" >&2
  exit 1
fi

cd "$root"
if ! git rev-parse --verify --quiet HEAD~1 >/dev/null; then
  echo "buf_breaking_test: no previous commit to compare with (shallow or"
  echo "first commit); nothing can have broken"
  exit 0
fi
if ! git cat-file -e HEAD~1:protos/buf.yaml 2>/dev/null; then
  echo "buf_breaking_test: the previous commit has no protos/buf.yaml"
  exit 0
fi

if "$buf" breaking protos --error-format=text \
     --against "$root/.git#ref=HEAD~1,subdir=protos"; then
  echo "buf_breaking_test: no breaking change against HEAD~1"
else
  echo "buf_breaking_test: the changes above break existing clients" >&2
  exit 1
fi
