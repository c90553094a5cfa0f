#!/usr/bin/env bash
# Checks deploy/nginx-goated.conf for real on loopback: the release binary behind
# nginx-light with the committed config (TLS and paths swapped for local ones). Expects
# a cache MISS then HITs on the live race, a WebSocket upgrade through the proxy, and
# the client address taken from the proxy's X-Forwarded-For: the admin allow-list holds
# only 127.0.0.2, a client connecting to nginx from 127.0.0.2 passes it (nginx itself
# connects to goated from 127.0.0.1), one from 127.0.0.1 does not, nor one that sends
# its own X-Forwarded-For: 127.0.0.2 (nginx overwrites it). The same on /ws: with one
# socket allowed per address, a viewer from 127.0.0.2 holding one does not keep one from
# 127.0.0.3 (goated sees two addresses), while a second from 127.0.0.2 is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; }
cargo build --release --quiet --bin goated
work="$(mktemp -d)"
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/cache"
# nginx workers run unprivileged: they must reach the cache folder.
chmod 755 "$work" && chmod 777 "$work/cache"
sed -e "s#/var/cache/nginx/goated#$work/cache#" -e 's#listen 443 ssl;#listen 127.0.0.1:18580;#' \
    -e '/http2 on;/d' -e '/ssl_certificate/d' -e 's#127.0.0.1:8080#127.0.0.1:18581#' \
    deploy/nginx-goated.conf > "$work/site.conf"
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 256; }
http { access_log off; include $work/site.conf; }
NGINX
GOATED_LOG__LEVEL=warn GOATED_SERVER__TRUSTED_PROXIES='["127.0.0.1/32"]' GOATED_ADMIN__ALLOWED_IPS='["127.0.0.2/32"]' \
  GOATED_SERVER__MAX_WEBSOCKETS_PER_IP=1 \
  "$release"/goated serve --bind 127.0.0.1:18581 --db "$work/g.db" >/dev/null 2>&1 &
pid=$!
until curl -fs http://127.0.0.1:18581/api/health | grep -q '"outcome":"success"'; do sleep 0.1; done
nginx -c "$work/nginx.conf"
status() { curl -s -o /dev/null -D - "$@" | awk 'tolower($1) == "x-cache-status:" { print $2 }' | tr -d '\r'; }
curl -s -o /dev/null -D "$work/h1" http://127.0.0.1:18580/api/wager-races/current
first="$(awk 'tolower($1) == "x-cache-status:" { print $2 }' "$work/h1" | tr -d '\r')"
[ -n "${DEBUG:-}" ] && cat "$work/h1"
second="$(status http://127.0.0.1:18580/api/wager-races/current)"
# curl holds an upgraded socket open until --max-time, then prints the status it got.
upgrade() { curl -s -o /dev/null -w '%{http_code}' --max-time "$1" "${@:2}" -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
      -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:18580/ws || true; }
upgrade 4 --interface 127.0.0.2 > "$work/ws-a" &
held=$!
sleep 1
ws_b="$(upgrade 1 --interface 127.0.0.3)"
ws_a2="$(upgrade 1 --interface 127.0.0.2)"
wait "$held"
ws="$(cat "$work/ws-a")"
# The admin allow-list holds 127.0.0.2 only. Past the allow-list, an admin call with no
# session is 401; refused by it, 403.
admin_status() { curl -s -o /dev/null -w '%{http_code}' "$@" http://127.0.0.1:18580/api/admin/verifications; }
allowed="$(admin_status --interface 127.0.0.2)"
other="$(admin_status)"
spoofed="$(admin_status -H 'X-Forwarded-For: 127.0.0.2')"
echo "live race through nginx: $first, then $second"
echo "WebSocket from 127.0.0.2: $ws; from 127.0.0.3 meanwhile: $ws_b; a second from 127.0.0.2: $ws_a2 (one per address)"
echo "admin from 127.0.0.2: $allowed (401 = allowed); from 127.0.0.1: $other; spoofing 127.0.0.2: $spoofed"
if [ "$first" = MISS ] && [ "$second" = HIT ] && [ "$ws" = 101 ] && [ "$ws_b" = 101 ] && [ "$ws_a2" = 429 ] \
   && [ "$allowed" = 401 ] \
   && [ "$other" = 403 ] && [ "$spoofed" = 403 ]; then
  echo "ok"
else
  echo "FAILED"
  exit 1
fi
