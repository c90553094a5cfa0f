#!/usr/bin/env bash
# The live feed under a stream's audience: N clients hold a WebSocket on /ws (default
# 10,000), idle; then a sync lands and its update goes to all of them.
#   scripts/bench-ws.sh [N]     (BINARY=path runs another build instead of this tree's)
# Reports the server's memory per idle client (RSS from /proc, before and after the N
# connect) and the spread of one update's arrival, first client to last (all N in one
# measuring process, one clock). Goals (issue 13): <= 10 KB per idle client, <= 150 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
clients="${1:-10000}"
# Each side (the server, the measuring process) holds one descriptor per socket.
ulimit -n $((clients + 1024)) || { echo "raise the open-files hard limit to $((clients + 1024))"; exit 1; }

cargo build --release --quiet --bin goated --example ws_clients
work="$(mktemp -d)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

port=18191
# Demo mode, a sync every 5 seconds, no caps in the way of the measurement.
GOATED_UPSTREAM__MODE=demo GOATED_UPSTREAM__DEMO_HISTORY_DAYS=0 \
GOATED_SYNC__DEMO_CRON="*/5 * * * * *" GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 \
GOATED_SERVER__MAX_WEBSOCKET_CLIENTS=$((clients + 10)) GOATED_SERVER__MAX_WEBSOCKETS_PER_IP=0 \
GOATED_LOG__LEVEL=warn \
  "${BINARY:-$release/goated}" serve --bind "127.0.0.1:$port" --db "$work/ws.db" >"$work/server.log" 2>&1 &
pid=$!
until curl -fs "http://127.0.0.1:$port/api/health" | grep -q '"outcome":"success"'; do sleep 0.1; done
sleep 1

"$release"/examples/ws_clients "127.0.0.1:$port" "$clients" "$pid" | tee "$work/out"
get() { awk -v k="$1" '$1 == k {print $2}' "$work/out"; }
echo "summary: $(get connected) clients; $(awk -v b="$(get per_client_bytes)" 'BEGIN {printf "%.1f", b / 1024}') KB per idle client" \
  "($(( ($(get rss_idle_kib) - $(get rss_before_kib)) / 1024 )) MB above idle);" \
  "one update reached all of them within $(get spread_ms) ms (median $(get median_after_first_ms) ms after the first)"
