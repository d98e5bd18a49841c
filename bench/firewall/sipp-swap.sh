#!/usr/bin/env bash
# SIPP for ../shared/sipbench/bench.sh: runs sipp with $FW_UAC_SCENARIO in place of sipbench's
# uac_rr.xml (the UAS scenario and every other argument pass through unchanged), so bench.sh can
# drive authenticated calls without being modified.
args=()
for a in "$@"; do
  if [[ -n "${FW_UAC_SCENARIO:-}" && "$a" == */uac_rr.xml ]]; then args+=("$FW_UAC_SCENARIO"); else args+=("$a"); fi
done
exec sipp "${args[@]}"
