#!/usr/bin/env bash
# Throughput, latency and server CPU per request of the hot public endpoints against
# nginx serving the very same bytes, with the same wrk settings, on loopback.
#   scripts/bench.sh [SECONDS] [ROUNDS]   (default 15 s per run, 1 round)
#   BASELINE=/path/to/goated scripts/bench.sh ...   also runs that binary (an earlier
#     build) in every round, beside this tree's, so a change is judged against the same
#     moment of a noisy machine rather than against yesterday's figures.
# CPU per request is the server's user + system time (from /proc/PID/stat, every nginx
# worker summed) over the run, divided by the requests wrk completed: it moves far less
# with machine noise than req/s does. goated runs as in production: metrics, analytics,
# request ids, and the rate limiter on (with a limit wrk's one address cannot reach).
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
secs="${1:-15}"
rounds="${2:-1}"
threads=2
conns=64

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk nginx-light >/dev/null
fi
cargo build --release --quiet --bin goated --example fake_upstream --example bare_poem

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$release"/examples/fake_upstream 2500 > "$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
upstream="$(head -n1 "$work/fake.out")"

start_goated() { # $1 = port, $2 = leaderboard cron, $3 = the binary (this tree's)
  GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$upstream" \
  GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token \
  GOATED_UPSTREAM__REQUESTS_PER_MINUTE=1000 GOATED_SERVER__RATE_LIMIT_PER_MINUTE=1000000000 \
  GOATED_SYNC__LEADERBOARD_CRON="$2" GOATED_LOG__LEVEL=warn \
    "${3:-$release/goated}" serve --bind "127.0.0.1:$1" --db "$work/goated-$1.db" >/dev/null 2>&1 &
  pids+=($!)
  eval "pid_$1=$!"
  until curl -fs "http://127.0.0.1:$1/api/health" | grep -q '"outcome":"success"'; do sleep 0.1; done
}

api=18181
start_goated "$api" "0 0 0 1 1 * 2099"
if [ -n "${BASELINE:-}" ]; then start_goated 18185 "0 0 0 1 1 * 2099" "$BASELINE"; fi
current="/api/wager-races/current"
board="/api/affiliate/leaderboard?period=this_month&page=1&limit=30"
mkdir -p "$work/www/api/wager-races" "$work/www/board"
curl -fs "http://127.0.0.1:$api$current" > "$work/www/api/wager-races/current"
curl -fs "http://127.0.0.1:$api$board" > "$work/www/board/page1"

cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server {
    listen 127.0.0.1:18182;
    root $work/www;
    location = /board { try_files /board/page1 =404; }
  }
}
NGINX
nginx -c "$work/nginx.conf"
sleep 0.5
nginx_pids=("$(cat "$work/nginx.pid")")
mapfile -t -O 1 nginx_pids < <(pgrep -P "${nginx_pids[0]}")

ticks() { # clock ticks of user + system time used so far by the processes $@
  local total=0 pid
  for pid in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
hz="$(getconf CLK_TCK)"

run() { # $1 = label, $2 = url, $3... = the server's pids
  local out rps p99 requests before after us
  before="$(ticks "${@:3}")"
  out="$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$2")"
  after="$(ticks "${@:3}")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  us="$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.1f", 1e6 * t / hz / n }')"
  printf '%-44s %10s req/s   p99 %8s   %6s us CPU/request\n' "$1" "$rps" "$p99" "$us"
  echo "$rps $p99 $us" > "$work/last"
}

echo "body sizes: current $(wc -c < "$work/www/api/wager-races/current") B, leaderboard page $(wc -c < "$work/www/board/page1") B"
echo "wrk -t$threads -c$conns -d${secs}s on $(nproc) cores, everything on loopback"
# The floor: poem and hyper with nothing of ours, on one runtime per core as goated's
# plain HTTP runs (http::workers).
"$release"/examples/bare_poem 127.0.0.1:18184 "$work/www/api/wager-races/current" percore &
pids+=($!); bare_pid=$!
until curl -fs -o /dev/null http://127.0.0.1:18184/; do sleep 0.1; done
# Each round measures nginx and goated back to back, so that both see the same moment
# of a noisy machine; with several rounds the ratios reported are their medians.
: > "$work/ratios"
for round in $(seq "$rounds"); do
  [ "$rounds" = 1 ] || echo "round $round of $rounds"
  run "nginx: current race bytes" "http://127.0.0.1:18182$current" "${nginx_pids[@]}"; read -r nc_rps _ nc_us < "$work/last"
  run "goated: $current" "http://127.0.0.1:$api$current" "$pid_18181";                  read -r ac_rps ac_p99 ac_us < "$work/last"
  echo "$ac_us" >> "$work/this-us"
  run "poem alone, per core, same bytes, no middleware" "http://127.0.0.1:18184/" "$bare_pid";       read -r bare_rps _ bare_us < "$work/last"
  run "nginx: leaderboard page bytes" "http://127.0.0.1:18182/board" "${nginx_pids[@]}"; read -r nb_rps _ nb_us < "$work/last"
  run "goated: leaderboard page 1" "http://127.0.0.1:$api$board" "$pid_18181";          read -r ab_rps _ ab_us < "$work/last"
  if [ -n "${BASELINE:-}" ]; then
    run "baseline: $current" "http://127.0.0.1:18185$current" "$pid_18185"; read -r base_rps _ base_us < "$work/last"
    echo "$base_rps $base_us" >> "$work/baseline"
  fi
  awk -v a="$ac_rps" -v b="$nc_rps" -v c="$ac_us" -v d="$nc_us" -v e="$bare_rps" -v f="$bare_us" \
      -v g="$ab_rps" -v h="$nb_rps" -v i="$ab_us" -v j="$nb_us" \
      'BEGIN { print a / b, c / d, e / b, f / d, g / h, i / j }' >> "$work/ratios"
done

busy=18183
start_goated "$busy" "* * * * * *"
run "goated: $current, syncing every second" "http://127.0.0.1:$busy$current" "$pid_18183"; busy_current="$(cat "$work/last")"
syncs="$(curl -fs "http://127.0.0.1:$busy/api/health" | sed 's/.*"lastSync":{[^}]*"id":\([0-9]*\).*/\1/')"
echo "syncs landed on the busy server by the end: $syncs"

ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); print v } else { sub(/s$/, "", v); print v * 1000 } }'; }
read -r _ bc_p99 _ <<<"$busy_current"
# median COLUMN: the middle value of that column over the rounds (its range beside it)
median() {
  sort -g -k"$1","$1" "$work/ratios" | awk -v k="$1" '{ v[NR] = $k } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s %s %s", m, v[1], v[NR] }'
}
share() { read -r m lo hi <<<"$(median "$1")"; awk -v m="$m" -v lo="$lo" -v hi="$hi" -v n="$rounds" \
  'BEGIN { printf "%.0f%%", 100 * m; if (n > 1) printf " (%.0f-%.0f%%)", 100 * lo, 100 * hi }'; }
times() { read -r m lo hi <<<"$(median "$1")"; awk -v m="$m" -v lo="$lo" -v hi="$hi" -v n="$rounds" \
  'BEGIN { printf "%.2fx", m; if (n > 1) printf " (%.2f-%.2fx)", lo, hi }'; }
[ "$rounds" = 1 ] || echo "medians of $rounds rounds (range in brackets):"
echo "current race: $(share 1) of nginx's throughput, $(times 2) its CPU per request (goals: >= 90%, <= 1.2x)"
echo "poem alone, per core (the stack's floor): $(share 3) of nginx's throughput, $(times 4) its CPU per request"
echo "leaderboard page: $(share 5) of nginx's throughput, $(times 6) its CPU per request"
if [ -n "${BASELINE:-}" ]; then
  # Per round: this tree's current-race CPU per request over the baseline's.
  paste -d' ' "$work/this-us" "$work/baseline" | awk '{ print $1 / $3 }' | sort -g |
    awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "current race, this tree'"'"'s CPU per request over the baseline'"'"'s: %.3fx (%.3f-%.3fx)\n", m, v[1], v[NR] }'
fi
echo "p99 while syncing / idle p99 (last round): $(awk -v a="$(ms "$bc_p99")" -v b="$(ms "$ac_p99")" 'BEGIN { printf "%.2f", a / b }')"
