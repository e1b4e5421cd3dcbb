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

step "deno test"
deno test -A --quiet
step "bun test"
bun test --timeout 30000
step "node --test"
node --test --test-timeout=60000 "src/**/*_test.ts" "adapters/**/*_test.ts" "test/**/*_test.ts"
