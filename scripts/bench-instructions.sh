#!/usr/bin/env bash
# User-space instructions per request on the hot reads, counted by valgrind's callgrind:
# unlike req/s or CPU time, the count hardly moves with a noisy machine, so it tells
# whether a change to the request path bought anything (a 2 % change is visible; CPU
# time on a shared 2-core machine moves by 20 % between runs). The kernel's share (the
# socket's syscalls) is not counted: `scripts/bench.sh` measures the whole.
#   scripts/bench-instructions.sh [BINARY...]   (default: this tree's release build)
# With several binaries (say an earlier build and this one) each is counted in turn.
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
if ! command -v valgrind >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq valgrind wrk >/dev/null
fi
cargo build --release --quiet --bin goated --example fake_upstream
binaries=("$@")
[ "${#binaries[@]}" -gt 0 ] || binaries=("$release/goated")

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
"$release"/examples/fake_upstream 2500 > "$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
upstream="$(head -n1 "$work/fake.out")"

current="/api/wager-races/current"
board="/api/affiliate/leaderboard?period=this_month&page=1&limit=30"
port=18186
for bin in "${binaries[@]}"; do
  rm -f "$work"/callgrind.out.* "$work"/goated.db*
  # As in production, and as in bench.sh: metrics, analytics, request ids and the rate
  # limiter on.
  GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$upstream" \
  GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token \
  GOATED_UPSTREAM__REQUESTS_PER_MINUTE=1000 GOATED_SERVER__RATE_LIMIT_PER_MINUTE=1000000000 \
  GOATED_SYNC__LEADERBOARD_CRON="0 0 0 1 1 * 2099" GOATED_LOG__LEVEL=warn \
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
      "$bin" serve --bind "127.0.0.1:$port" --db "$work/goated.db" >/dev/null 2>"$work/valgrind.log" &
  server=$!
  pids+=("$server")
  until curl -fs "http://127.0.0.1:$port/api/health" 2>/dev/null | grep -q '"outcome":"success"'; do sleep 0.2; done
  echo "$bin"
  for target in "$current" "$board"; do
    # Warm up (caches filled, buffers grown), then count only the measured requests.
    wrk -t1 -c8 -d2s "http://127.0.0.1:$port$target" >/dev/null
    callgrind_control -z "$server" >/dev/null 2>&1
    out="$(wrk -t1 -c8 -d5s "http://127.0.0.1:$port$target")"
    requests="$(awk '/requests in/ {print $1}' <<<"$out")"
    callgrind_control -d "$server" >/dev/null 2>&1
    sleep 0.5
    dump="$(ls -t "$work"/callgrind.out.*.* | head -n1)"
    ir="$(awk '/^summary:/ {print $2}' "$dump")"
    rm -f "$dump"
    awk -v ir="$ir" -v n="$requests" -v t="$target" \
      'BEGIN { printf "  %-62s %8.0f instructions/request (%d requests)\n", t, ir / n, n }'
  done
  kill "$server"; wait "$server" 2>/dev/null || true
  port=$((port + 1))
done
