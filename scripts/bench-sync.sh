#!/usr/bin/env bash
# Time and peak memory of one sync of a large payload from a local fake upstream.
#   scripts/bench-sync.sh [PLAYERS] [CHURN]   (defaults 100000 and 0; BINARY=path runs another build)
# Each run also prints its phases (the sync's debug line: fetch, parse, writes, commit).
# CHURN is the share (in %) of the players who wagered whose amounts grow between two
# answers; with 0 every answer is the same.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
players="${1:-100000}"
churn="${2:-0}"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }

cargo build --release --quiet --bin goated --example fake_upstream
work="$(mktemp -d)"
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

"$release"/examples/fake_upstream "$players" "$churn" > "$work/fake.out" 2>/dev/null &
fake_pid=$!
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
url="$(head -n1 "$work/fake.out")"

export GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$url" \
       GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token \
       GOATED_LOG__LEVEL=warn,goated::sync=debug
body_bytes="$(curl -s -H 'Authorization: Bearer good-token' "$url/user2/affiliate/referral-leaderboard/TEST123" | wc -c)"
echo "payload: $players players, $body_bytes bytes, ${churn} % churn between answers"
for run in first second third; do
  # The fake makes its next answer after each one (with a churn): let it finish.
  [ "$churn" = 0 ] || sleep 2
  /usr/bin/time -f "%e %M" -o "$work/time" "${BINARY:-$release/goated}" sync --db "$work/bench.db" > "$work/sync.out" 2> "$work/sync.err" \
    || { cat "$work/sync.err" >&2; exit 1; }
  read -r secs kib < "$work/time"
  echo "$run sync: ${secs}s wall, peak RSS $((kib / 1024)) MiB — $(cut -d';' -f1 "$work/sync.out")"
  # Where the time went (the sync's debug line; an older BINARY may not write it).
  phases="$(sed -e 's/\x1b\[[0-9;]*m//g' "$work/sync.err" | grep -o 'phases=.*' | head -n1 || true)"
  [ -z "$phases" ] || echo "  ${phases#phases=}"
done
echo "database size: $(du -h "$work/bench.db" | cut -f1)"
