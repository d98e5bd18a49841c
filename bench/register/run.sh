#!/usr/bin/env bash
# REGISTER/s of Olelo's registrar under ../../../shared/sipbench/bench.sh -m register (a fresh AoR
# per REGISTER, Expires 60), with the in-memory location table and with the Redis store, plus
# memory per binding with 1,000,000 bindings (memory.ts). Results: bench/register/out/.
# Env: MODES ("memory redis"), STEP_SECS (10), REGISTER_RATES, SKIP_MEMORY=1, SIPBENCH=dir.
# Kamailio with one worker did about 14.7k REGISTER/s on this machine with the same harness.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB="${SIPBENCH:-$HERE/../../../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$HERE/../../../../shared/sipbench"
[[ -x "$SB/bench.sh" ]] || { echo "register bench: sipbench/bench.sh not found (set SIPBENCH=dir)" >&2; exit 2; }
OUT="$HERE/out"; mkdir -p "$OUT"
STAMP="$(date +%Y%m%d-%H%M%S)"
export UAC_PORT_BASE="${UAC_PORT_BASE:-22610}"
export REGISTER_RATES="${REGISTER_RATES:-2000 4000 6000 8000 10000 12000 14000 16000 18000 20000}"
STEP="${STEP_SECS:-10}"

run_mode() {
  local mode="$1" label="olelo-register-$1"
  if ss -lun 2>/dev/null | grep -q '127.0.0.1:22600 '; then echo "register bench: 127.0.0.1:22600 is busy" >&2; return 1; fi
  "$HERE/start.sh" "$mode" > "$OUT/$label-$STAMP.log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do ss -lun 2>/dev/null | grep -q '127.0.0.1:22600 ' && break; sleep 0.1; done
  sleep 1
  kill -0 "$pid" 2>/dev/null || { echo "register bench: olelo did not start" >&2; cat "$OUT/$label-$STAMP.log" >&2; return 1; }
  "$SB/bench.sh" -t 127.0.0.1:22600 -u 127.0.0.1:22605 -P "$pid" -l "$label" -s "$STEP" -m register -d "$OUT/$label-$STAMP" -o "$OUT/$label-$STAMP.md"
  curl -s -d '{"jsonrpc":"2.0","method":"stats.get_statistics","params":["usrloc:"],"id":1}' http://127.0.0.1:22690/RPC > "$OUT/$label-$STAMP.usrloc.json" || true
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [[ "$mode" == redis ]]; then
    redis-cli --scan --pattern 'olelo:test:reg:bench:*' | xargs -r -n 500 redis-cli del > /dev/null
  fi
}

for mode in ${MODES:-memory redis}; do run_mode "$mode"; done
if [[ "${SKIP_MEMORY:-0}" != 1 ]]; then
  (cd "$HERE/../.." && node --expose-gc --max-old-space-size=4096 --import tsx bench/register/memory.ts 1000000) | tee "$OUT/memory-$STAMP.json"
fi
echo; echo "results in $OUT:"; ls -1 "$OUT"/*"$STAMP"* 2>/dev/null
