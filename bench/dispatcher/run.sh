#!/usr/bin/env bash
# Dispatcher benchmark (issue 3): calls through Olelo's dispatcher, round robin (set 1, alg 4)
# over 2 sipp UAS, under ../shared/sipbench/bench.sh (calls mode: INVITE/180/200/ACK/BYE/200,
# record-routed), next to references measured in the same sitting:
#   relay       Olelo, plain relay of every initial request to one UAS (nextHop), same script
#   dispatcher  Olelo, dispatcher round robin over UAS_PORT and UAS2_PORT
#   kamailio    (KAMAILIO=1) the anchor: ../shared/sipbench/run_anchor.sh 1 — Kamailio, 1 worker,
#               ds_select_dst("1","4") over its dispatcher.list (one UAS, 127.0.0.1:5070)
#   kamailio2   (KAMAILIO2=1) the same Kamailio configuration with a list naming both UAS
#               (127.0.0.1:5070 and :5071): Kamailio's dispatcher over 2 UAS, like for like
# Each variant runs RUNS times, interleaved (relay, dispatcher, kamailio…, then again), and
# summary.md gives every run's headline (highest passing step), the medians and their ratios.
# Kamailio listens on 127.0.0.1:5060 and its UAS on 5070/5071 (fixed by its configuration);
# nothing else may listen there meanwhile — the script checks and skips a busy run.
#
# usage: bench/dispatcher/run.sh          (npm run bench calls it without arguments)
# env:   RUNS (1)  VARIANTS ("relay dispatcher")  KAMAILIO (0)  KAMAILIO2 (0)
#        PROXY_PORT (5060)  UAS_PORT (5070)  UAS2_PORT (5071)  UAC_PORT_BASE (5100)
#        STEP_SECS (10)  CALL_RATES (bench.sh's)  OUT (bench/out/dispatcher-<stamp>)
#        SIPBENCH (../shared/sipbench)  SUMMARY_ONLY=1 (only rewrite OUT/summary.md)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SB="${SIPBENCH:-$HERE/../../../shared/sipbench}"
[[ -x "$SB/bench.sh" ]] || SB="$HERE/../../../../shared/sipbench"
[[ -x "$SB/bench.sh" ]] || { echo "dispatcher bench: ../shared/sipbench/bench.sh not found (set SIPBENCH=dir)" >&2; exit 2; }
command -v sipp >/dev/null || { echo "dispatcher bench: sipp missing" >&2; exit 2; }
RUNS="${RUNS:-1}"
VARIANTS="${VARIANTS:-relay dispatcher}"
[[ "${KAMAILIO:-0}" == 1 ]] && VARIANTS="$VARIANTS kamailio"
[[ "${KAMAILIO2:-0}" == 1 ]] && VARIANTS="$VARIANTS kamailio2"
export PROXY_PORT="${PROXY_PORT:-5060}" UAS_PORT="${UAS_PORT:-5070}" UAS2_PORT="${UAS2_PORT:-5071}"
export UAC_PORT_BASE="${UAC_PORT_BASE:-5100}"
STEP="${STEP_SECS:-10}"
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="${OUT:-$HERE/../out/dispatcher-$STAMP}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

PIDS=()
stop_pid() { # pid: TERM, then KILL after 5 s; only processes this script started
  local p="$1"
  kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$p" 2>/dev/null
}
cleanup() { for p in "${PIDS[@]}"; do stop_pid "$p"; done; PIDS=(); }
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

busy() { ss -lun 2>/dev/null | grep -q "127.0.0.1:$1 "; }
wait_listen() { for _ in $(seq 150); do busy "$1" && return 0; sleep 0.1; done; return 1; }

# a second UAS (the harness starts the first one itself), same scenario and buffers as bench.sh's
start_uas2() { # port log
  sipp -sf "$SB/scenarios/uas_rr.xml" -i 127.0.0.1 -p "$1" -nostdin -buff_size 1048576 -timeout 3600s \
    -trace_stat -stf "${2%.log}.csv" -fd 1 > "$2" 2>&1 &
  local p=$!; sleep 1
  kill -0 "$p" 2>/dev/null || { echo "second UAS did not start on $1:" >&2; cat "$2" >&2; return 1; }
  echo "$p"
}  # called as $(start_uas2 …): the caller adds the printed PID to PIDS

bench() { # label proxy_pid result
  "$SB/bench.sh" -t "127.0.0.1:$2" -u "127.0.0.1:$UAS_PORT" -P "$3" -l "$1" -s "$STEP" -m calls \
    -d "$OUT/$1.d" -o "$OUT/$1.md"
}

run_olelo() { # variant label
  local variant="$1" label="$2"
  for p in "$PROXY_PORT" "$UAS_PORT" "$UAS2_PORT"; do busy "$p" && { echo "skip $label: 127.0.0.1:$p is busy" >&2; return 1; }; done
  local uas2=""
  if [[ "$variant" == dispatcher ]]; then uas2="$(start_uas2 "$UAS2_PORT" "$OUT/$label.uas2.log")" || return 1; PIDS+=("$uas2"); fi
  RUNDIR="$OUT/$label.run" "$HERE/start-proxy.sh" "$variant" > "$OUT/$label.proxy.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  if ! wait_listen "$PROXY_PORT" || ! kill -0 "$pid" 2>/dev/null; then
    echo "olelo did not start:" >&2; cat "$OUT/$label.proxy.log" >&2; cleanup; return 1
  fi
  sleep 1
  bench "$label" "$PROXY_PORT" "$pid"
  cleanup
}

run_kamailio1() { # label — the anchor exactly as ../shared/sipbench ships it
  local label="$1"
  for p in 5060 5070; do busy "$p" && { echo "skip $label: 127.0.0.1:$p is busy" >&2; return 1; }; done
  "$SB/run_anchor.sh" 1 "$OUT/$label.md" -s "$STEP" -m calls -d "$OUT/$label.d" -l "$label"
}

run_kamailio2() { # label — the anchor's kamailio.cfg, 1 worker, with a list naming both UAS
  local label="$1" rundir="$OUT/$1.run"
  for p in 5060 5070 5071; do busy "$p" && { echo "skip $label: 127.0.0.1:$p is busy" >&2; return 1; }; done
  mkdir -p "$rundir"
  printf '# setid destination\n1 sip:127.0.0.1:5070\n1 sip:127.0.0.1:5071\n' > "$rundir/dispatcher.list"
  local uas2; uas2="$(start_uas2 5071 "$OUT/$label.uas2.log")" || return 1; PIDS+=("$uas2")
  kamailio -f "$SB/kamailio.cfg" -DD -E -A "WORKERS=1" -A "CTLSOCK=\"unix:$rundir/kamailio_ctl\"" \
    -A "RPCFIFO=\"$rundir/kamailio_rpc.fifo\"" -A "DSLIST=\"$rundir/dispatcher.list\"" \
    -P "$rundir/kamailio.pid" -Y "$rundir" -w "$rundir" -m 3072 -M 16 > "$OUT/$label.kamailio.log" 2>&1 &
  local launch=$!; PIDS+=("$launch")
  for _ in $(seq 50); do [[ -s "$rundir/kamailio.pid" ]] && break; sleep 0.1; done
  local kpid; kpid="$(cat "$rundir/kamailio.pid" 2>/dev/null || true)"
  [[ -n "$kpid" ]] || { echo "kamailio did not start:" >&2; cat "$OUT/$label.kamailio.log" >&2; cleanup; return 1; }
  wait_listen 5060 || { cleanup; return 1; }
  sleep 1
  UAS_PORT=5070 bench "$label" 5060 "$kpid"
  kamcmd -s "unix:$rundir/kamailio_ctl" dispatcher.list > "$OUT/$label.dispatcher-list.txt" 2>&1 || true
  cleanup
}

echo "dispatcher bench: variants [$VARIANTS] x $RUNS, step ${STEP}s, out $OUT"
[[ "${SUMMARY_ONLY:-0}" == 1 ]] && RUNS_TO_DO=0 || RUNS_TO_DO="$RUNS"
for i in $(seq "$RUNS_TO_DO"); do
  for v in $VARIANTS; do
    label="$v-$i"
    echo "== $label"
    case "$v" in
      relay | dispatcher) run_olelo "$v" "$label" ;;
      kamailio) run_kamailio1 "$label" ;;
      kamailio2) run_kamailio2 "$label" ;;
      *) echo "unknown variant $v" >&2 ;;
    esac
  done
done

# ---- summary: headline per run, medians, ratios of medians ----
python3 - "$OUT" "$RUNS" $VARIANTS > "$OUT/summary.md" <<'PY'
import os, re, statistics, sys
out, runs, variants = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def headline(path):
    try:
        text = open(path).read()
    except OSError:
        return None, None
    m = re.search(r"^- calls: (\d+)/s \(step \d+/s, proxy cpu (\S+)%\)", text, re.M)
    return (int(m.group(1)), m.group(2)) if m else (0, None)
def answered(path):  # SuccessfulCall(C) of a sipp UAS stat file
    try:
        lines = [l for l in open(path, encoding="latin-1") if l.strip()]
        h, v = lines[0].split(";"), lines[-1].split(";")
        return int(v[h.index("SuccessfulCall(C)")])
    except (OSError, ValueError, IndexError):
        return None
rows, med, split = [], {}, []
for v in variants:
    vals, cpus = [], []
    for i in range(1, runs + 1):
        h, cpu = headline(os.path.join(out, f"{v}-{i}.md"))
        if h is not None:
            vals.append(h); cpus.append(cpu or "-")
            u1, u2 = answered(os.path.join(out, f"{v}-{i}.d", "uas.csv")), answered(os.path.join(out, f"{v}-{i}.uas2.csv"))
            if u2 is not None:
                split.append(f"{v}-{i}: {u1} / {u2}")
    med[v] = statistics.median(vals) if vals else None
    rows.append((v, vals, cpus))
print(f"### Dispatcher benchmark ({os.path.basename(out)}): calls/s, highest passing step of ../shared/sipbench/bench.sh")
print()
print("| variant | runs (calls/s) | proxy cpu % at headline | median |")
print("|---|---|---|---:|")
for v, vals, cpus in rows:
    print(f"| {v} | {' / '.join(map(str, vals)) or '-'} | {' / '.join(cpus) or '-'} | {med[v] if med[v] is not None else '-'} |")
print()
def ratio(a, b):
    if med.get(a) and med.get(b):
        print(f"- {a} / {b}: {med[a] / med[b]:.2f}")
for a, b in [("dispatcher", "relay"), ("dispatcher", "kamailio"), ("dispatcher", "kamailio2"), ("kamailio2", "kamailio")]:
    ratio(a, b)
# proxy CPU at the same offered rates: less sensitive to a noisy machine than the headline
cpu = {}  # variant -> target -> [cpu%] over passing steps
for v in variants:
    for i in range(1, runs + 1):
        try:
            lines = open(os.path.join(out, f"{v}-{i}.d", "steps.tsv")).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            f = l.split("\t")
            if len(f) >= 15 and f[14] == "PASS" and f[9] not in ("-", ""):
                cpu.setdefault(v, {}).setdefault(int(f[1]), []).append(float(f[9]))
targets = sorted({t for d in cpu.values() for t in d})
if targets:
    print()
    print("Proxy CPU (% of one core, median over the runs whose step passed) and CPU per call at each offered rate:")
    print()
    print("| calls/s | " + " | ".join(variants) + " |")
    print("|---:|" + "---:|" * len(variants))
    for t in targets:
        cells = []
        for v in variants:
            xs = cpu.get(v, {}).get(t)
            cells.append(f"{statistics.median(xs):.0f}% ({statistics.median(xs) * 10 / t:.3f} ms/call, n={len(xs)})" if xs else "-")
        print(f"| {t} | " + " | ".join(cells) + " |")
if split:
    print()
    print("Calls answered by UAS 1 / UAS 2 (round robin check; the last seconds are missing, sipp counts a call after its 4 s timewait): " + "; ".join(split))
print()
print("relay: Olelo, nextHop to one UAS. dispatcher: Olelo, round robin over 2 UAS. kamailio: the anchor (run_anchor.sh 1, dispatcher over 1 UAS).")
print("kamailio2: the anchor configuration, 1 worker, dispatcher over the same 2 UAS. Per-step tables: <variant>-<run>.md.")
PY
cat "$OUT/summary.md"
