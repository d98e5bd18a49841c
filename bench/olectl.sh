#!/usr/bin/env bash
# olectl's time per data-plane call: starts the built data plane (dist/, `npm run build` first) on
# spare ports, runs `olectl version` (one core.version RPC) RUNS times (default 10) with the built
# olectl and with the TypeScript sources under tsx, and prints each median in milliseconds.
# Usage: flock /tmp/olelo-test.lock bash bench/olectl.sh     Env: RUNS, SIP_PORT, CTL_PORT
set -euo pipefail
cd "$(dirname "$0")/.."
NODE=node_modules/.bin/node
RUNS="${RUNS:-10}" SIP_PORT="${SIP_PORT:-25160}" CTL_PORT="${CTL_PORT:-25161}"
[[ -f dist/cli/olectl.js ]] || { echo "bench: dist/ missing (npm run build)" >&2; exit 2; }
log="$(mktemp)"
"$NODE" dist/data-plane/main.js --listen "udp:127.0.0.1:$SIP_PORT" --control "127.0.0.1:$CTL_PORT" --log-level warn >"$log" 2>&1 &
dp=$!
trap 'kill $dp 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do "$NODE" dist/cli/olectl.js --url "http://127.0.0.1:$CTL_PORT/RPC" version >/dev/null 2>&1 && break; sleep 0.1; done

median() { # command... → median wall time of RUNS runs, ms
  local t=()
  for _ in $(seq "$RUNS"); do
    local s; s=$(date +%s%N)
    "$@" >/dev/null
    t+=($(( ($(date +%s%N) - s) / 1000000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}
echo "olectl version (core.version over HTTP), median of $RUNS runs, Node $("$NODE" -p process.versions.node):"
echo "  built (dist/cli/olectl.js): $(median "$NODE" dist/cli/olectl.js --url "http://127.0.0.1:$CTL_PORT/RPC" version) ms"
echo "  sources under tsx:          $(median "$NODE" --import tsx cli/olectl.ts --url "http://127.0.0.1:$CTL_PORT/RPC" version) ms"
