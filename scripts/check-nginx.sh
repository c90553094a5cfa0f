#!/usr/bin/env bash
# Checks deploy/nginx-goated.conf for real on loopback: the release binary behind
# nginx-light with the committed config (TLS and paths swapped for local ones). Expects
# a cache MISS then HITs on the live race, a WebSocket upgrade through the proxy, and
# the client address taken from the proxy's X-Forwarded-For.
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
GOATED_LOG__LEVEL=warn GOATED_SERVER__TRUSTED_PROXIES='["127.0.0.1/32"]' GOATED_ADMIN__ALLOWED_IPS='["203.0.113.7/32"]' \
  "$release"/goated serve --bind 127.0.0.1:18581 --db "$work/g.db" >/dev/null 2>&1 &
pid=$!
until curl -fs http://127.0.0.1:18581/api/health | grep -q '"outcome":"success"'; do sleep 0.1; done
nginx -c "$work/nginx.conf"
status() { curl -s -o /dev/null -D - "$@" | awk 'tolower($1) == "x-cache-status:" { print $2 }' | tr -d '\r'; }
curl -s -o /dev/null -D "$work/h1" http://127.0.0.1:18580/api/wager-races/current
first="$(awk 'tolower($1) == "x-cache-status:" { print $2 }' "$work/h1" | tr -d '\r')"
[ -n "${DEBUG:-}" ] && cat "$work/h1"
second="$(status http://127.0.0.1:18580/api/wager-races/current)"
ws="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
      -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' http://127.0.0.1:18580/ws || true)"
# The admin allow-list holds 203.0.113.7 only: through the proxy we are 127.0.0.1 (403),
# and a client's own X-Forwarded-For is overwritten by nginx, so spoofing stays 403.
spoofed="$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:18580/api/admin/verifications)"
echo "live race through nginx: $first, then $second; WebSocket upgrade: $ws; spoofed admin address: $spoofed"
if [ "$first" = MISS ] && [ "$second" = HIT ] && [ "$ws" = 101 ] && [ "$spoofed" = 403 ]; then
  echo "ok"
else
  echo "FAILED"
  exit 1
fi
