#!/usr/bin/env bash
# bench/firewall: calls/s through Olelo's default routing script with the SIP firewall and
# authentication on, next to the plain relay, with ../shared/sipbench/bench.sh (calls mode only).
#
#   plain     olelo-plain.json    no modules: stateful record-routing relay (the baseline)
#   firewall  olelo-firewall.json pike (counting + ipban pre-parse filter), htable, permissions,
#                                 sanity, auth loaded; calls from an untrusted source to a local
#                                 R-URI (From not local: no challenge) — the firewall path
#   trusted   olelo-firewall.json same, from 127.0.0.3 (permissions group 1: pike and auth skipped)
#   auth      olelo-firewall.json calls by the local user "bench": 407 challenge + digest
#                                 (uac_auth.xml through sipp-swap.sh) — 2 INVITE transactions/call
#
# The configurations run interleaved REPEAT times in one sitting; the summary gives the median
# headline per configuration and its ratio to the plain relay's median. The machine is shared:
# quote medians and ratios, not single runs.
# Env: REPEAT (3), STEP_SECS (5), CALL_RATES ("200 400 600 800 1000 1200 1400 1600 1800 2000"),
#      CONFIGS ("plain firewall trusted auth"), FIXED_RATE (default: the second step of CALL_RATES;
#      the step whose proxy CPU per call is reported — CPU time per call is less sensitive to a busy
#      machine than the top rate), HOTPATH (1: also run hotpath.ts), HOT_CALLS (5000). Ports: proxy 18800, control 18801, UAS 18810,
#      UAC 18820+. Results: bench/firewall/out/.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SB="${SIPBENCH:-$ROOT/../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$ROOT/../../shared/sipbench"
[[ -x "$SB/bench.sh" ]] || { echo "bench/firewall: ../shared/sipbench/bench.sh not found (set SIPBENCH=dir)" >&2; exit 2; }
command -v sipp >/dev/null || { echo "bench/firewall: sipp missing" >&2; exit 2; }
OUT="$HERE/out"; mkdir -p "$OUT"
STAMP="$(date +%Y%m%d-%H%M%S)"
REPEAT="${REPEAT:-3}"
export STEP_SECS="${STEP_SECS:-5}"
export CALL_RATES="${CALL_RATES:-200 400 600 800 1000 1200 1400 1600 1800 2000}"
export UAC_PORT_BASE="${UAC_PORT_BASE:-18820}"
CONFIGS="${CONFIGS:-plain firewall trusted auth}"
# default: the grid's second step (the first one includes the JIT warm-up of a fresh proxy)
FIXED_RATE="${FIXED_RATE:-$(awk '{print ($2 != "" ? $2 : $1)}' <<<"$CALL_RATES")}"
PROXY=127.0.0.1:18800
SUMMARY="$OUT/summary-$STAMP.tsv"
printf 'config\trun\tcalls_per_s\tproxy_cpu\tus_per_call_at_fixed\n' > "$SUMMARY"

port_busy() { ss -lun 2>/dev/null | grep -q "127.0.0.1:$1 "; }

run_one() {  # config run
  local cfg="$1" run="$2" json src scenario=""
  case "$cfg" in
    plain) json=olelo-plain.json; src=127.0.0.2 ;;
    firewall) json=olelo-firewall.json; src=127.0.0.2 ;;
    trusted) json=olelo-firewall.json; src=127.0.0.3 ;;
    auth) json=olelo-firewall.json; src=127.0.0.2; scenario="$HERE/uac_auth.xml" ;;
    *) echo "unknown config $cfg" >&2; return 1 ;;
  esac
  if port_busy 18800 || port_busy 18810; then echo "bench/firewall: port 18800/18810 busy" >&2; return 1; fi
  local label="fw-$cfg-r$run" log="$OUT/$cfg-r$run-$STAMP.log"
  (cd "$ROOT" && exec node --import tsx data-plane/main.ts --config "$HERE/$json") > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 150); do port_busy 18800 && break; sleep 0.1; done
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null; then echo "bench/firewall: olelo did not start:" >&2; cat "$log" >&2; return 1; fi
  FW_UAC_SCENARIO="$scenario" SIPP="$HERE/sipp-swap.sh" LOCAL_IP="$src" \
    "$SB/bench.sh" -t "$PROXY" -u 127.0.0.1:18810 -P "$pid" -l "$label" -m calls -s "$STEP_SECS" \
      -d "$OUT/$label-$STAMP" -o "$OUT/$label-$STAMP.md" > "$OUT/$label-$STAMP.out" 2>&1
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  local line best cpu
  line="$(grep -m1 -- '- calls:' "$OUT/$label-$STAMP.md" 2>/dev/null)"
  best="$(sed -n 's/.*- calls: \([0-9]*\)\/s.*/\1/p' <<<"$line")"
  cpu="$(sed -n 's/.*proxy cpu \([0-9]*\)%.*/\1/p' <<<"$line")"
  # proxy CPU microseconds per call at the FIXED_RATE step (only when that step passed)
  local us
  us="$(awk -F'\t' -v r="$FIXED_RATE" '$1=="calls" && $2==r && $15=="PASS" && $8>0 {printf "%.0f", $10*10000/$8}' "$OUT/$label-$STAMP/steps.tsv" 2>/dev/null)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$cfg" "$run" "${best:-0}" "${cpu:--}" "${us:--}" >> "$SUMMARY"
  echo "  $cfg run $run: ${best:-none passed} calls/s (proxy cpu ${cpu:--}%), ${us:--} us proxy CPU per call at ${FIXED_RATE}/s"
}

# in-process CPU cost per call (hotpath.ts; no sockets, so far less sensitive to a busy machine)
HOT="$OUT/hotpath-$STAMP.jsonl"
if [[ "${HOTPATH:-1}" == 1 ]]; then
  echo "bench/firewall: hot path, configs [$CONFIGS] x $REPEAT"
  for run in $(seq "$REPEAT"); do
    for cfg in $CONFIGS; do
      (cd "$ROOT" && node --import tsx bench/firewall/hotpath.ts "$cfg" "${HOT_CALLS:-5000}") | tail -1 | tee -a "$HOT"
    done
  done
fi

echo "bench/firewall: configs [$CONFIGS] x $REPEAT, steps [$CALL_RATES] x ${STEP_SECS}s, out $OUT"
for run in $(seq "$REPEAT"); do
  for cfg in $CONFIGS; do run_one "$cfg" "$run"; done
done

python3 - "$SUMMARY" "$OUT/summary-$STAMP.md" "$REPEAT" "$STEP_SECS" "$FIXED_RATE" "$HOT" <<'PY'
import sys, statistics, json, os
tsv, md, repeat, step, fixed, hot = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(tsv)][1:]
by = {}
for cfg, run, cps, cpu, us in rows:
    by.setdefault(cfg, []).append((int(cps), cpu, us))
def med(xs):
    return statistics.median(xs) if xs else None
base = med([c for c, _, _ in by.get("plain", [])])
base_us = med([int(u) for _, _, u in by.get("plain", []) if u != "-"])
with open(md, "w") as f:
    f.write(f"### bench/firewall (sipbench calls mode, {step}s steps, {repeat} interleaved runs)\n\n")
    f.write(f"| config | runs: top passing calls/s | median | ratio to plain | runs: proxy CPU us/call at {fixed}/s | median | ratio to plain |\n")
    f.write("|---|---|---:|---:|---|---:|---:|\n")
    for cfg in ["plain", "firewall", "trusted", "auth"]:
        if cfg not in by: continue
        v = [c for c, _, _ in by[cfg]]
        u = [int(x) for _, _, x in by[cfg] if x != "-"]
        m, mu = med(v), med(u)
        r = f"{m / base:.2f}" if base else "-"
        ru = f"{mu / base_us:.2f}" if (mu and base_us) else "-"
        f.write(f"| {cfg} | {', '.join(map(str, v))} | {m:.0f} | {r} | {', '.join(x for _, _, x in by[cfg])} | {mu if mu is not None else '-'} | {ru} |\n")
    f.write("\nA step passes with 0 failed calls, retransmissions < 1% and >= 90% of the target rate; the rate grid bounds the resolution. ")
    f.write("CPU us/call = proxy CPU (all threads) / achieved calls per second at that step.\n")
    if os.path.exists(hot):
        h = {}
        for line in open(hot):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            h.setdefault(d["mode"], []).append(d["usPerCall"])
        hb = med(h.get("plain", []))
        f.write("\n#### In-process hot path (hotpath.ts: CPU us per call, sends stubbed, median of 10 rounds per run)\n\n")
        f.write("| config | runs (us/call) | median | ratio to plain |\n|---|---|---:|---:|\n")
        for cfg in ["plain", "firewall", "trusted", "auth"]:
            if cfg not in h: continue
            m = med(h[cfg])
            f.write(f"| {cfg} | {', '.join(str(x) for x in h[cfg])} | {m:.1f} | {(m / hb if hb else 0):.2f} |\n")
print(open(md).read())
PY
