#!/usr/bin/env bash
# Workers (data-plane/core/workers/README.md), under ../shared/sipbench with sipp sending each call
# from its own socket (sipp-per-call.sh; the kernel spreads 4-tuples over the workers):
#   1. proxy CPU per call at one fixed offered rate (CALL_RATE, default 1500/s) with 1 and 2
#      workers (bench/cpu-per-msg.sh, median of RUNS) — the scaling figure that holds on 2 cores;
#   2. calls/s and REGISTER/s (highest passing step) with 2 workers, and Kamailio with 2 workers
#      under the same harness in the same sitting (when kamailio is installed).
# Env: RUNS (3), STEP_SECS (8), CALL_RATE (1500), WORKERS_MODES ("calls register"), BENCH_KAMAILIO,
# WARMUP_SECS (5: Olelo's unmeasured warm-up step per mode, as in bench/run.sh and cpu-per-msg.sh).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
B="$HERE/.."
SB="${SIPBENCH:-$B/../../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$B/../../../shared/sipbench"
OUT="$B/out"; mkdir -p "$OUT"; STAMP="$(date +%Y%m%d-%H%M%S)"
STEP="${STEP_SECS:-8}"; MODES="${WORKERS_MODES:-calls register}"
export SIPP="$HERE/sipp-per-call.sh"
export PATH="$B/../node_modules/.bin:$PATH"   # the pinned Node (npm run bench sets it too)

echo "== workers: proxy CPU per call at ${CALL_RATE:-1500} calls/s (one socket per call)"
for w in 1 2; do
  echo "-- workers: $w"
  BENCH_WORKERS=$w MODES=calls STEP_SECS="$STEP" "$B/cpu-per-msg.sh" | grep -E "CPU per message|files in"
done

echo "== workers: highest rate with 0 failed, 2 workers (one socket per call)"
if ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 '; then echo "workers bench: 127.0.0.1:5060 is busy" >&2; exit 1; fi
BENCH_WORKERS=2 "$B/start-proxy.sh" --set 'modules={"registrar":{}}' > "$OUT/olelo-w2-$STAMP.log" 2>&1 &
pid=$!
for _ in $(seq 150); do ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 ' && break; sleep 0.1; done
sleep 2
# the same unmeasured warm-up as bench/run.sh (WARMUP_SECS, 0 = none): each worker's JIT compiles first
if [[ "${WARMUP_SECS:-5}" != 0 ]]; then
  CALL_RATES=1500 REGISTER_RATES=5000 STEP_PAUSE=1 "$SB/bench.sh" -t 127.0.0.1:5060 -P "$pid" -l olelo-w2-warmup -s "${WARMUP_SECS:-5}" -m "$MODES" -d "$OUT/olelo-w2-warmup-$STAMP" > /dev/null 2>&1
fi
"$SB/bench.sh" -t 127.0.0.1:5060 -P "$pid" -l olelo-w2 -s "$STEP" -m "$MODES" -o "$OUT/olelo-w2-$STAMP.md" > /dev/null
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
KAM="${BENCH_KAMAILIO:-auto}"
[[ "$KAM" == auto ]] && { command -v kamailio >/dev/null && KAM=1 || KAM=0; }
[[ "$KAM" == 1 ]] && "$SB/run_anchor.sh" 2 "$OUT/kamailio-w2-$STAMP.md" -s "$STEP" -m "$MODES" > /dev/null
python3 - "$OUT/olelo-w2-$STAMP.md" "$OUT/kamailio-w2-$STAMP.md" <<'PY'
import re, sys
def heads(p):
    try: t = open(p).read()
    except OSError: return {}
    return {m.group(1): (int(m.group(2)), m.group(3)) for m in re.finditer(r"^- (\w+): (\d+)/s \(step \d+/s, proxy cpu (\S+)%\)", t, re.M)}
o, k = heads(sys.argv[1]), heads(sys.argv[2])
for mode in ("calls", "register"):
    if mode in o or mode in k:
        ov, kv = o.get(mode, (None, "-")), k.get(mode, (None, "-"))
        r = f"{ov[0] / kv[0]:.2f}x" if ov[0] and kv[0] else "-"
        print(f"  {mode:9s} olelo 2 workers {ov[0] or '-'}/s (cpu {ov[1]}%)   kamailio 2 workers {kv[0] or '-'}/s (cpu {kv[1]}%)   ratio {r}")
PY
echo "(files: $OUT/*-w2-$STAMP.md)"
