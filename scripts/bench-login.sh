#!/usr/bin/env bash
# Sign-in latency, and how many concurrent sign-ins the server holds before it sheds
# load (503 "busy" once a login waited 3 s for one of the argon2 slots).
#   scripts/bench-login.sh [SECONDS]   (default 10 per concurrency level)
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
secs="${1:-10}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin goated

work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=18191
GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 GOATED_LOG__LEVEL=warn GOATED_SYNC__ON_STARTUP=false \
  "$release"/goated serve --bind "127.0.0.1:$port" --db "$work/goated.db" >/dev/null 2>&1 &
pid=$!
until curl -fs "http://127.0.0.1:$port/api/health" >/dev/null; do sleep 0.1; done
base="http://127.0.0.1:$port"
body='{"username":"bencher","password":"tall-goat-on-a-hill"}'
curl -fs -o /dev/null -H 'content-type: application/json' -d "$body" "$base/api/auth/register"

echo "sequential sign-ins (one at a time, 40 of them):"
for _ in $(seq 40); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'content-type: application/json' -d "$body" "$base/api/auth/login"
done | sort -n | awk '{ t[NR] = $1 } END { printf "  median %.0f ms, p90 %.0f ms\n", t[int(NR/2)] * 1000, t[int(NR*0.9)] * 1000 }'

cat > "$work/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "concurrent sign-ins (wrk -t2 -d${secs}s):"
for c in 4 16 32 64 128 256; do
  out="$(wrk -t2 -c"$c" -d"${secs}s" --timeout 10s --latency -s "$work/login.lua" "$base/api/auth/login")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  total="$(awk '/requests in/ {print $1}' <<<"$out")"
  shed="$(awk '/Non-2xx/ {print $5}' <<<"$out")"
  printf '  %4d concurrent: %7s logins/s, p50 %8s, refused %s of %s\n' "$c" "$rps" "$p50" "${shed:-0}" "$total"
done
echo "health while the server was busiest: $(curl -s -o /dev/null -w '%{http_code} in %{time_total}s' "$base/api/health")"
echo "server RSS at the end: $(awk '/VmHWM/ {print int($2/1024)" MiB peak"}' /proc/$pid/status)"
