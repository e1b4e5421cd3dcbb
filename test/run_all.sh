#!/usr/bin/env bash
# The whole suite: type checks, lint, format, then the same tests on Deno, Bun and Node (Node last: CI reads
# its closing lines). Run through `npm test`, which puts node_modules/.bin (deno, bun, node 26, tsc) first on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
step() { printf '\n=== %s\n' "$*"; }

step "system packages"
bash test/system_packages.sh

step "tsc --noEmit"
tsc -p .
step "deno check"
deno check mod.ts main.ts adapters/deno/tcp.ts adapters/node/tcp.ts adapters/deno/tls.ts adapters/deno/ws.ts adapters/node/tls.ts adapters/node/ws.ts
step "deno lint"
deno lint
step "deno fmt --check"
deno fmt --check
step "deno publish --dry-run"
deno publish --dry-run --allow-dirty --quiet
step "deno doc --lint"
# Every export of the published entry points has a doc comment and names no unexported type.
# --quiet hides deno doc's warnings about resolving @types/node and bun-types references; errors still print.
deno doc --lint --quiet mod.ts adapters/deno/mod.ts adapters/bun/mod.ts adapters/node/mod.ts
step "deno check --doc"
# The @example blocks of the entry points' module docs type-check as written.
deno check --doc --quiet mod.ts adapters/deno/mod.ts adapters/bun/mod.ts adapters/node/mod.ts

# Every runtime runs even when one before it failed, so that one run shows every failure; the last line names the
# runtimes that failed.
failed=()
suite() {
  local name=$1
  shift
  step "$name"
  if ! "$@"; then failed+=("$name"); fi
}
suite "deno test" deno test -A --quiet
suite "bun test" bun test --timeout 30000
# Node runs two test files at a time (its default on 2 cores is one), except the suites that start NATS clusters,
# threads, browsers or measure latency and memory: those run one at a time after the rest. Measured here: 314 s
# all one at a time, 160 s all two at a time, but then a 3-server NATS election once took longer than its test
# allows. `find` lists the files, as Node's globs cannot exclude.
SERIAL="test/cluster test/hardening test/e2e test/workers"
mapfile -t node_parallel < <(find src adapters test -name '*_test.ts' -not -path 'test/cluster/*' \
  -not -path 'test/hardening/*' -not -path 'test/e2e/*' -not -path 'test/workers/*' | sort)
mapfile -t node_serial < <(find $SERIAL -name '*_test.ts' | sort)
suite "node --test (two files at a time)" node --test --test-concurrency=2 --test-timeout=60000 "${node_parallel[@]}"
suite "node --test (one file at a time)" node --test --test-timeout=60000 "${node_serial[@]}"
if ((${#failed[@]} > 0)); then
  printf '\n=== failed: %s\n' "${failed[*]}"
  exit 1
fi
