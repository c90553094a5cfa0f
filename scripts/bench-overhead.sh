#!/usr/bin/env bash
# The cost of metrics and usage analytics on the hottest endpoint: three servers side
# by side (both on = the defaults, metrics only, both off), measured in alternation so
# machine noise hits all alike.
#   scripts/bench-overhead.sh [ROUNDS] [SECONDS]   (default 5 rounds of 8 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
rounds="${1:-5}"; secs="${2:-8}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin goated --example fake_upstream
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
"$release"/examples/fake_upstream 2500 > "$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
start() { # $1 port, $2 metrics on/off, $3 analytics on/off
  GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$(head -n1 "$work/fake.out")" \
  GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token \
  GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 GOATED_METRICS__ENABLED="$2" \
  GOATED_ANALYTICS__ENABLED="$3" GOATED_LOG__LEVEL=warn \
  GOATED_SYNC__LEADERBOARD_CRON="0 0 0 1 1 * 2099" \
    "$release"/goated serve --bind "127.0.0.1:$1" --db "$work/g-$1.db" >/dev/null 2>&1 &
  pids+=($!)
  until curl -fs "http://127.0.0.1:$1/api/health" | grep -q '"outcome":"success"'; do sleep 0.1; done
}
start 18381 true true
start 18382 true false
start 18383 false false
rps() { wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$1/api/wager-races/current" | awk '/Requests\/sec/ {print $2}'; }
for _ in $(seq "$rounds"); do
  echo "both $(rps 18381)" >> "$work/r"
  echo "metrics $(rps 18382)" >> "$work/r"
  echo "none $(rps 18383)" >> "$work/r"
done
median() { grep "^$1 " "$work/r" | cut -d' ' -f2 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
both="$(median both)"; metrics="$(median metrics)"; none="$(median none)"
for v in both metrics none; do
  echo "$v: median $(median $v) req/s ($(grep "^$v " "$work/r" | cut -d' ' -f2 | tr '\n' ' '))"
done
awk -v a="$both" -v m="$metrics" -v n="$none" 'BEGIN {
  printf "analytics cost %.1f%% (both on vs metrics only)\n", 100 * (1 - a / m)
  printf "metrics cost %.1f%% (metrics only vs none)\n", 100 * (1 - m / n)
  printf "together %.1f%% of throughput on /api/wager-races/current\n", 100 * (1 - a / n)
}'
