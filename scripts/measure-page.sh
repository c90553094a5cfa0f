#!/usr/bin/env bash
# Weight of the home page (bytes transferred, requests) and its time to first render
# of the standings, in headless Chromium, against the release binary in demo mode.
#   scripts/measure-page.sh [RUNS]   (default 5; prints the median)
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
runs="${1:-5}"
[ -x /usr/bin/chromedriver ] || { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }
cargo build --release --quiet --bin goated
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
GOATED_LOG__LEVEL=warn "$release"/goated serve --bind 127.0.0.1:18291 --db "$work/goated.db" >/dev/null 2>&1 &
pids+=($!)
/usr/bin/chromedriver --port=18292 >/dev/null 2>&1 &
pids+=($!)
until curl -fs http://127.0.0.1:18291/api/health | grep -q '"outcome":"success"'; do sleep 0.1; done
until curl -fs http://127.0.0.1:18292/status >/dev/null; do sleep 0.1; done

wd() { curl -fs -X "$1" -H 'content-type: application/json' "http://127.0.0.1:18292$2" ${3:+-d "$3"}; }
metrics='const n = performance.getEntriesByType("navigation")[0];
const r = performance.getEntriesByType("resource").filter(e => !e.name.includes("/ws"));
const m = performance.getEntriesByName("standings-rendered")[0];
return [n.transferSize + r.reduce((s, e) => s + e.transferSize, 0), 1 + r.length, m ? Math.round(m.startTime) : -1];'
for i in $(seq "$runs"); do
  caps="{\"capabilities\":{\"alwaysMatch\":{\"goog:chromeOptions\":{\"binary\":\"/usr/bin/chromium\",\"args\":[\"--headless=new\",\"--no-sandbox\",\"--disable-gpu\",\"--disable-quic\",\"--no-first-run\",\"--disable-background-networking\",\"--disable-component-update\",\"--disable-sync\",\"--window-size=390,844\",\"--user-data-dir=$work/profile-$i\"]}}}}"
  sid="$(wd POST /session "$caps" | sed 's/.*"sessionId":"\([^"]*\)".*/\1/')"
  wd POST "/session/$sid/url" '{"url":"http://127.0.0.1:18291/"}' >/dev/null
  for _ in $(seq 100); do
    out="$(wd POST "/session/$sid/execute/sync" "$(printf '{"script":%s,"args":[]}' "$(printf '%s' "$metrics" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')")")"
    case "$out" in *'-1]'*) sleep 0.05 ;; *) break ;; esac
  done
  echo "$out" | sed 's/.*\[\([0-9]*\),\([0-9]*\),\([0-9-]*\)\].*/\1 \2 \3/' >> "$work/results"
  wd DELETE "/session/$sid" >/dev/null
done
sort -n -k3 "$work/results" | awk -v n="$runs" '{ b[NR] = $1; q[NR] = $2; t[NR] = $3 }
  END { m = int((n + 1) / 2); printf "home page, cold cache (median of %d): %d bytes transferred in %d requests; standings rendered %d ms after navigation start\n", n, b[m], q[m], t[m] }'
