#!/usr/bin/env bash
# CPU per message at a fixed offered rate (the figure that holds on a shared machine, where the
# achieved maximum rate is noisy): runs ../shared/sipbench/bench.sh with ONE step per mode against
# Olelo (start-proxy.sh, registrar loaded) or, with TARGET=kamailio, against Kamailio with one
# worker, and prints the proxy's CPU time per call / OPTIONS / REGISTER in µs (process CPU from
# /proc over the step, divided by the messages that succeeded).
# Env: RUNS (default 3; the median is printed), STEP_SECS (8), CALL_RATE (1500), OPTIONS_RATE (10000),
# REGISTER_RATE (5000), MODES ("calls options register"), TARGET (olelo | kamailio),
# WARMUP_SECS (5; 0 = none: Olelo only, one unmeasured step per mode at the same rate before the
# measured ones, so V8's JIT has compiled the hot path as on a node that has run for a while —
# without it a step pays 0.3–1.1 s of optimizing compiles (--trace-opt); a warm-up at a third of
# the rate still left 100 TurboFan compiles to the measured REGISTER step; Kamailio has nothing to warm),
# PROF_DIR (Olelo only: write a --cpu-prof profile of each run there), UAS (127.0.0.1:5070: where the
# sipp UAS listens and Olelo relays to; Kamailio's next hop is SIPBENCH's dispatcher.list, so with
# another UAS port give a SIPBENCH copy whose dispatcher.list says that port).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB="${SIPBENCH:-$HERE/../../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$HERE/../../../shared/sipbench"
[[ -x "$SB/bench.sh" ]] || { echo "cpu-per-msg: sipbench not found (set SIPBENCH=dir)" >&2; exit 2; }
RUNS="${RUNS:-3}"; TARGET="${TARGET:-olelo}"
export STEP_SECS="${STEP_SECS:-8}" CALL_RATES="${CALL_RATE:-1500}" OPTIONS_RATES="${OPTIONS_RATE:-10000}"
export REGISTER_RATES="${REGISTER_RATE:-5000}" STEP_PAUSE=1
MODES="${MODES:-calls options register}"
UAS="${UAS:-127.0.0.1:5070}"
OUT="$HERE/out/cpu-$TARGET-$(date +%Y%m%d-%H%M%S)"; mkdir -p "$OUT"

wait_port() { for _ in $(seq 100); do ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 ' && return 0; sleep 0.1; done; return 1; }

for run in $(seq "$RUNS"); do
  for _ in $(seq 60); do ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 ' || break; sleep 1; done  # a previous proxy still stopping
  if ss -lun 2>/dev/null | grep -q '127.0.0.1:5060 '; then echo "cpu-per-msg: 127.0.0.1:5060 is busy" >&2; exit 1; fi
  if [[ "$TARGET" == kamailio ]]; then
    "$SB/run_anchor.sh" 1 "$OUT/run$run.md" -s "$STEP_SECS" -m "$MODES" -u "$UAS" -d "$OUT/run$run" > "$OUT/run$run.log" 2>&1
  else
    prof=()
    [[ -n "${PROF_DIR:-}" ]] && { mkdir -p "$PROF_DIR"; prof=(env "NODE_FLAGS=--cpu-prof --cpu-prof-dir=$PROF_DIR"); }
    "${prof[@]}" "$HERE/start-proxy.sh" --set 'modules={"registrar":{}}' --set "script.settings.nextHop=sip:$UAS" > "$OUT/proxy$run.log" 2>&1 &
    pid=$!
    wait_port || { echo "olelo did not start" >&2; cat "$OUT/proxy$run.log" >&2; exit 1; }
    sleep 1
    if [[ "${WARMUP_SECS:-5}" != 0 ]]; then
      "$SB/bench.sh" -t 127.0.0.1:5060 -u "$UAS" -P "$pid" -l "warmup" -s "${WARMUP_SECS:-5}" -m "$MODES" -o "$OUT/warmup$run.md" -d "$OUT/warmup$run" > "$OUT/warmup$run.log" 2>&1
    fi
    "$SB/bench.sh" -t 127.0.0.1:5060 -u "$UAS" -P "$pid" -l "olelo" -s "$STEP_SECS" -m "$MODES" -o "$OUT/run$run.md" -d "$OUT/run$run" > "$OUT/run$run.log" 2>&1
    kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null  # start-proxy.sh execs node: $pid is node
  fi
done
python3 - "$OUT" "$RUNS" <<'PY'
import sys, statistics, glob, os
out, runs = sys.argv[1], int(sys.argv[2])
res = {}
for r in range(1, runs + 1):
    p = os.path.join(out, f"run{r}", "steps.tsv")
    try: lines = open(p).read().splitlines()[1:]
    except OSError: continue
    for l in lines:
        f = l.split("\t")
        mode, ok, achieved, cpu, passed = f[0], int(f[3]), float(f[7]), f[9], f[14]
        if cpu in ("-", "") or achieved <= 0: continue
        us = float(cpu) / 100.0 / achieved * 1e6
        res.setdefault(mode, []).append((us, achieved, passed))
for mode, v in res.items():
    us = [x[0] for x in v]
    print(f"{mode:9s} CPU per message: median {statistics.median(us):6.1f} µs  (runs: {', '.join('%.1f' % x for x in us)}; achieved/s: {', '.join('%.0f' % x[1] for x in v)}; {', '.join(x[2] for x in v)})")
print(f"(files in {out})")
PY
