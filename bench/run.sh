#!/usr/bin/env bash
# npm run bench: Olelo under ../shared/sipbench/bench.sh (calls, options, register), and the same
# harness against Kamailio with one worker when BENCH_KAMAILIO=1 (needs `apt-get install -y kamailio`).
# Results go to bench/out/. Env: STEP_SECS (default 10), MODES, CALL_RATES etc. as bench.sh takes,
# WARMUP_SECS (5: Olelo's unmeasured warm-up step per mode before the measured steps; 0 = none).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB="${SIPBENCH:-$HERE/../../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$HERE/../../../shared/sipbench"
[[ -x "$SB/bench.sh" ]] || { echo "bench: ../shared/sipbench/bench.sh not found (set SIPBENCH=dir)" >&2; exit 2; }
command -v sipp >/dev/null || { echo "bench: sipp missing (apt-get install -y sip-tester)" >&2; exit 2; }
OUT="$HERE/out"; mkdir -p "$OUT"
STAMP="$(date +%Y%m%d-%H%M%S)"
STEP="${STEP_SECS:-10}"
MODES="${MODES:-calls options register}"

run_olelo() {
  local label="$1"; shift
  if ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 '; then echo "bench: 127.0.0.1:5060 is busy" >&2; return 1; fi
  "$HERE/start-proxy.sh" "$@" > "$OUT/$label-$STAMP.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 ' && break; sleep 0.1; done
  sleep 1
  kill -0 "$pid" 2>/dev/null || { echo "bench: olelo did not start:" >&2; cat "$OUT/$label-$STAMP.log" >&2; return 1; }
  # warm-up (WARMUP_SECS, default 5; 0 = none): one unmeasured step per mode, so the measured steps
  # run the JIT-compiled hot path as a node does after its first seconds (see cpu-per-msg.sh)
  if [[ "${WARMUP_SECS:-5}" != 0 ]]; then
    CALL_RATES=1500 OPTIONS_RATES=10000 REGISTER_RATES=5000 STEP_PAUSE=1 \
      "$SB/bench.sh" -t 127.0.0.1:5060 -P "$pid" -l "$label-warmup" -s "${WARMUP_SECS:-5}" -m "$MODES" -d "$OUT/$label-warmup-$STAMP" > "$OUT/$label-warmup-$STAMP.log" 2>&1
  fi
  "$SB/bench.sh" -t 127.0.0.1:5060 -P "$pid" -l "$label" -s "$STEP" -m "$MODES" -o "$OUT/$label-$STAMP.md"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
}

if [[ -f "$HERE/../data-plane/modules/registrar/index.ts" ]]; then
  run_olelo olelo --set 'modules={"registrar":{}}'
else
  run_olelo olelo
fi
# Kamailio with one worker, same harness, same sitting (default when kamailio is installed)
KAM="${BENCH_KAMAILIO:-auto}"
[[ "$KAM" == auto ]] && { command -v kamailio >/dev/null && KAM=1 || KAM=0; }
if [[ "$KAM" == 1 ]]; then
  "$SB/run_anchor.sh" 1 "$OUT/kamailio-w1-$STAMP.md" -s "$STEP" -m "$MODES"
fi
# headline and ratio
python3 - "$OUT/olelo-$STAMP.md" "$OUT/kamailio-w1-$STAMP.md" <<'PY'
import re, sys
def heads(p):
    try: t = open(p).read()
    except OSError: return {}
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^- (\w+): (\d+)/s", t, re.M)}
o, k = heads(sys.argv[1]), heads(sys.argv[2])
print("\n== headline (highest rate with 0 failed)")
for mode in ("calls", "options", "register"):
    if mode in o or mode in k:
        r = f"{o[mode] / k[mode]:.2f}x" if mode in o and k.get(mode) else "-"
        print(f"  {mode:9s} olelo {o.get(mode, '-')}/s   kamailio(1 worker) {k.get(mode, '-')}/s   ratio {r}")
PY
# feature benchmarks (dispatcher, firewall/auth, register); BENCH_EXTRA=0 skips them
if [[ "${BENCH_EXTRA:-1}" == 1 ]]; then
  for extra in "$HERE"/*/run.sh; do
    [[ -x "$extra" ]] && { echo "== $(basename "$(dirname "$extra")")"; "$extra"; }
  done
fi
echo; echo "results in $OUT:"; ls -1 "$OUT"/*"$STAMP"*.md
