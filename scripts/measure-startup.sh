#!/usr/bin/env bash
# Start-up time to the first answered request, and idle memory, of the release binary
# on a fresh database in demo mode.
#   scripts/measure-startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
cargo build --release --quiet --bin goated
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
start=$(date +%s%N)
GOATED_LOG__LEVEL=warn "$release"/goated serve --bind "127.0.0.1:$port" --db "$work/goated.db" >/dev/null &
pid=$!
until curl -fs "http://127.0.0.1:$port/api/health" >/dev/null; do sleep 0.005; done
ready=$(date +%s%N)
echo "first answered request after $(( (ready - start) / 1000000 )) ms"
sleep 5
echo "idle RSS after 5 s: $(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' /proc/$pid/status)"
echo "release binary: $(du -h "$release"/goated | cut -f1)"
