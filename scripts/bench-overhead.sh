#!/usr/bin/env bash
# The cost of metrics on the hottest endpoint: two servers side by side, one with
# metrics.enabled = false, measured in alternation so machine noise hits both alike.
#   scripts/bench-overhead.sh [ROUNDS] [SECONDS]   (default 5 rounds of 8 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"; secs="${2:-8}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin goated --example fake_upstream
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
target/release/examples/fake_upstream 2500 > "$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
start() { # $1 port, $2 metrics on/off
  GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$(head -n1 "$work/fake.out")" \
  GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token \
  GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 GOATED_METRICS__ENABLED="$2" GOATED_LOG__LEVEL=warn \
  GOATED_SYNC__LEADERBOARD_CRON="0 0 0 1 1 * 2099" \
    target/release/goated serve --bind "127.0.0.1:$1" --db "$work/g-$1.db" >/dev/null 2>&1 &
  pids+=($!)
  until curl -fs "http://127.0.0.1:$1/api/health" | grep -q '"outcome":"success"'; do sleep 0.1; done
}
start 18381 true
start 18382 false
rps() { wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$1/api/wager-races/current" | awk '/Requests\/sec/ {print $2}'; }
for _ in $(seq "$rounds"); do
  echo "on $(rps 18381)" >> "$work/r"
  echo "off $(rps 18382)" >> "$work/r"
done
median() { grep "^$1 " "$work/r" | cut -d' ' -f2 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
on="$(median on)"; off="$(median off)"
echo "metrics on:  median $on req/s ($(grep '^on ' "$work/r" | cut -d' ' -f2 | tr '\n' ' '))"
echo "metrics off: median $off req/s ($(grep '^off ' "$work/r" | cut -d' ' -f2 | tr '\n' ' '))"
awk -v a="$on" -v b="$off" 'BEGIN { printf "metrics cost %.1f%% of throughput on /api/wager-races/current\n", 100 * (1 - a / b) }'
