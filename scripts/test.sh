#!/usr/bin/env bash
# `npm test`: every check and suite in turn, timed, continuing past failures; ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
LOGS=.wrangler/test-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"

passed=0 failed=0 failed_steps=0 rows=()

# step NAME CMD... : run a check; a failing check counts as one failure in the totals.
step() {
  local name=$1; shift
  printf '\n==> %s\n' "$name"
  local t0=$EPOCHREALTIME rc=0
  "$@" || rc=$?
  local secs; secs=$(elapsed "$t0")
  if [ "$rc" -eq 0 ]; then rows+=("ok    ${secs}s  $name"); else
    rows+=("FAIL  ${secs}s  $name (exit $rc)"); failed=$((failed + 1)); failed_steps=$((failed_steps + 1)); fi
  return 0
}

# suite NAME KIND REPORT CMD... : run a test suite and add its counted tests; a suite that exits non-zero
# without a counted failure (a crash, a config error) still counts as one failure.
suite() {
  local name=$1 kind=$2 report=$3; shift 3
  printf '\n==> %s\n' "$name"
  local t0=$EPOCHREALTIME rc=0
  "$@" || rc=$?
  local secs p f; secs=$(elapsed "$t0")
  read -r p f < <(node scripts/lib/test-counts.mjs "$kind" "$report" 2>/dev/null || echo "0 0")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)) failed=$((failed + f))
  rows+=("$([ "$f" -eq 0 ] && echo 'ok  ' || echo 'FAIL')  ${secs}s  $name: $p passed, $f failed")
  return 0
}

skip() { printf '\n==> %s: skipped (%s)\n' "$1" "$2"; rows+=("skip        $1 ($2)"); }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# `wrangler types` adds a key per secret found in .dev.vars, and --check cannot be pointed elsewhere, so the
# check runs on a copy where .dev.vars is the committed example: a developer's own .dev.vars (or none, on a
# clean clone) cannot change the verdict. `npm run types` generates from the same example.
types_check() {
  local dir rc=0; dir=$(mktemp -d .wrangler/types-XXXXXX)
  cp -r wrangler.toml worker-configuration.d.ts workers "$dir/" && cp .dev.vars.example "$dir/.dev.vars"
  (cd "$dir" && npx wrangler types --strict-vars=false --check) || rc=$?
  rm -rf "$dir"
  [ "$rc" -eq 0 ] || echo "Regenerate with 'npm run types' and commit worker-configuration.d.ts."
  return "$rc"
}

# drizzle-kit writes a new migration when the schema drifted, so it runs on a throwaway copy of the inputs
# (inside the repo, so node_modules still resolves) and the real migrations/ is never touched.
drift_check() {
  local dir; dir=$(mktemp -d .wrangler/drift-XXXXXX)
  cp -r drizzle.config.ts workers migrations "$dir/"
  local out rc=0
  out=$(cd "$dir" && npx drizzle-kit generate 2>&1) || rc=$?
  rm -rf "$dir"
  echo "$out" | tail -n 5
  if [ "$rc" -ne 0 ] || ! grep -q "No schema changes" <<<"$out"; then
    echo "Schema and migrations differ: run 'npm run db:generate -- --name <change>' and commit the migration."
    return 1
  fi
}

# node --test in Node 20 takes files, not directories.
node_suite() {
  local name=$1 pattern=$2 report=$LOGS/$3.tap
  local files=(); for f in $pattern; do [ -f "$f" ] && files+=("$f"); done
  if [ ${#files[@]} -eq 0 ]; then skip "$name" "no $pattern files"; return; fi
  # One file at a time: each starts its own wrangler (and maybe vite), which is all 2 cores can take.
  suite "$name" tap "$report" node --test --test-concurrency=1 --test-timeout="${TEST_TIMEOUT_MS:-300000}" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" "${files[@]}"
}

has_dashboard() { [ -d dashboard/src ]; }
has_unit_tests() { [ -n "$(find test/unit -name '*.test.ts' -print -quit 2>/dev/null)" ]; }

step "wrangler types --check" types_check
step "tsc -p ." npx tsc -p .
step "layering (dependency-cruiser, .dependency-cruiser.cjs)" npx depcruise workers
step "unused files and exports (knip, knip.jsonc)" npx knip
if has_dashboard; then step "dashboard: svelte-check" npm run check -w dashboard; else skip "dashboard: svelte-check" "no dashboard/src"; fi
step "migration drift (drizzle-kit generate)" drift_check
if has_unit_tests; then
  suite "unit tests (vitest, workerd)" vitest "$LOGS/vitest.json" \
    npx vitest run --reporter=default --reporter=json --outputFile.json="$LOGS/vitest.json"
else skip "unit tests (vitest)" "no test/unit/**/*.test.ts"; fi
if has_dashboard; then step "dashboard: build" npm run build -w dashboard; else skip "dashboard: build" "no dashboard/src"; fi
node_suite "e2e tests (node --test)" "test/e2e/*.e2e.mjs" e2e
node_suite "browser tests (node --test + chromium)" "test/browser/*.browser.mjs" browser

printf '\n==> summary (logs in %s)\n' "$LOGS"
printf '  %s\n' "${rows[@]}"
[ "$failed_steps" -gt 0 ] && printf '  (failed includes %d failed check step(s))\n' "$failed_steps"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
