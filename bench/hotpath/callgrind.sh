#!/usr/bin/env bash
# Repeatable instruction counts per call / OPTIONS of bench/hotpath/run.ts under callgrind: the
# difference between runs of LO and HI messages per round (11 rounds each), so start-up cancels out.
# --single-threaded: no concurrent JIT/GC threads, so when optimised code arrives does not depend on
# the machine's load (with them, runs of the same code differed by up to 10 %).
# Env: HOTPATH_MODE (calls | options | register), LO (200), HI (1000; options and register: LO 1000, HI 5000).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
MODE="${HOTPATH_MODE:-calls}"
if [[ "$MODE" == options || "$MODE" == register ]]; then LO="${LO:-1000}"; HI="${HI:-5000}"; else LO="${LO:-200}"; HI="${HI:-1000}"; fi
OUT="$(mktemp -d)"
# one run outside valgrind first: tsx compiles changed sources on the first run after an edit, which
# counted in the LO run only (a changed file cut the per-message figure by up to 20 %)
HOTPATH_MODE="$MODE" node_modules/.bin/node --import tsx bench/hotpath/run.ts 10 > /dev/null
count() {
  HOTPATH_MODE="$MODE" valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.$1" --trace-children=no \
    node_modules/.bin/node --single-threaded --import tsx bench/hotpath/run.ts "$1" > "$OUT/log.$1" 2>&1
  grep -m1 -E '^(summary|totals):' "$OUT/cg.$1" | awk '{print $2}'
}
a=$(count "$LO"); b=$(count "$HI")
echo "$MODE: $(( (b - a) / (11 * (HI - LO)) )) instructions per message (Ir $a @ $LO, $b @ $HI)"
rm -rf "$OUT"
