#!/usr/bin/env bash
# Starts Olelo in the foreground on 127.0.0.1:5060 configured like ../shared/sipbench/kamailio.cfg
# (stateful, record-routing, force_rport, every initial request forwarded to 127.0.0.1:5070).
# Extra arguments go to data-plane/main.ts (e.g. --set modules.registrar={}); NODE_FLAGS adds node
# flags that NODE_OPTIONS cannot carry (e.g. NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/.."
# BENCH_WORKERS: worker threads (default 1, the single-process figures); "auto" = one per core
# shellcheck disable=SC2086
exec node ${NODE_FLAGS:-} --import tsx data-plane/main.ts --config "$HERE/olelo-bench.json" --set "workers=${BENCH_WORKERS:-1}" "$@"
