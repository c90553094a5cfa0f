#!/usr/bin/env bash
# Lighthouse (npm lighthouse@12.2.3 with Debian's Chromium) on the race, leaderboard,
# player and overlay pages of the release binary in demo mode (with its replayed
# history, as a first visitor sees it). Prints the four scores per page and fails when
# one is under 95.   scripts/lighthouse.sh [PAGE_PATH…]
set -euo pipefail
cd "$(dirname "$0")/.."
release="${CARGO_TARGET_DIR:-target}/release"
tools="${LIGHTHOUSE_DIR:-target/lighthouse}"
[ -x /usr/bin/chromium ] || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
[ -x "$tools/node_modules/.bin/lighthouse" ] || {
  mkdir -p "$tools" && npm install --prefix "$tools" --no-audit --no-fund --silent lighthouse@12.2.3 >/dev/null
}
cargo build --release --quiet --bin goated
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=18391
GOATED_LOG__LEVEL=warn "$release"/goated serve --bind "127.0.0.1:$port" --db "$work/g.db" >/dev/null 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
until curl -fs "$base/api/health" | grep -q '"outcome":"success"'; do sleep 0.2; done
top="$(curl -fs "$base/api/affiliate/leaderboard?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["results"][0]["uid"])')"
pages=("$@")
[ ${#pages[@]} -gt 0 ] || pages=("/" "/leaderboard.html" "/player.html?uid=$top" "/overlay.html")
fail=0
printf '%-40s %5s %5s %5s %5s\n' page perf a11y best seo
for page in "${pages[@]}"; do
  CHROME_PATH=/usr/bin/chromium "$tools/node_modules/.bin/lighthouse" "$base$page" --quiet \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$work/report.json" >/dev/null 2>&1 || true
  read -r perf a11y best seo fails < <(python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["categories"]
scores = [round(c[k]["score"] * 100) for k in ("performance", "accessibility", "best-practices", "seo")]
failing = [a["id"] for a in r["audits"].values() if a.get("score") is not None and a["score"] < 0.9
           and a.get("scoreDisplayMode") in ("binary", "numeric")]
print(*scores, ",".join(failing[:6]) or "-")
PY
)
  printf '%-40s %5s %5s %5s %5s  %s\n' "$page" "$perf" "$a11y" "$best" "$seo" "$fails"
  for s in $perf $a11y $best $seo; do [ "$s" -ge 95 ] || fail=1; done
done
exit "$fail"
