#!/usr/bin/env bash
# Starts Olelo in the foreground for the REGISTER benchmark: ./start.sh [memory|redis]
# (olelo-register.json or olelo-register-redis.json; udp:127.0.0.1:22600, control 127.0.0.1:22690).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODE="${1:-memory}"
case "$MODE" in
  memory) CFG="$HERE/olelo-register.json" ;;
  redis) CFG="$HERE/olelo-register-redis.json" ;;
  *) echo "usage: $0 [memory|redis]" >&2; exit 2 ;;
esac
cd "$HERE/../.."
exec node --import tsx data-plane/main.ts --config "$CFG"
