#!/usr/bin/env bash
# Fault and load soak (on demand, not in CI). wrk loads the public endpoints the whole
# time, accounts are registered the whole time, while the fake Goated.com (60,000
# players, so a sync's store transaction lasts long enough to be hit) cycles through
# slow answers, timeouts, 500s, 503s, 429s, 401s and garbage. goated is killed with
# SIGKILL while a request to the upstream is in flight, and while the sync's store
# transaction holds the database's write lock (seen from outside: BEGIN IMMEDIATE is
# refused), and restarted each time. Afterwards it checks, prints, and exits non-zero
# when any check fails:
#   - every kill landed where it was aimed (none is counted that did not);
#   - a store transaction cut by a kill left nothing: no player carries its sync's time;
#   - PRAGMA integrity_check is ok;
#   - no finalized race result changed;
#   - no account or verification that existed was lost or altered, and every account
#     whose registration was answered 201 during the kills exists;
#   - every sync run is recorded with an outcome (none left "running");
#   - after the faults stop, a sync succeeds again and the race is served with players;
#   - no request got a 5xx (while the process is down, requests fail to connect; they
#     are counted apart).
#   scripts/soak.sh [ROUNDS] [PHASE_SECONDS]   (default 1 round of 11 phases × 12 s)
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
rounds="${1:-1}"; phase_secs="${2:-12}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked --quiet --bin goated --example fake_upstream
work="$(mktemp -d)"
pids=()
goated_pid=""
cleanup() {
  [ -n "$goated_pid" ] && kill "$goated_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
db="$work/soak.db"
sql() { python3 - "$db" "$@" <<'PY'
import hashlib, sqlite3, sys
db, what = sys.argv[1], sys.argv[2]
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
def digest(query):
    return hashlib.sha256(repr(c.execute(query).fetchall()).encode()).hexdigest()[:16]
if what == "running":
    print(c.execute("SELECT count(*) FROM sync_runs WHERE outcome = 'running'").fetchone()[0])
elif what == "running_run":
    row = c.execute("SELECT id, started_at FROM sync_runs WHERE outcome = 'running' ORDER BY id DESC").fetchone()
    print(f"{row[0]} {row[1]}" if row else "")
elif what == "write_locked":
    # Another connection holds the write lock (a transaction is writing) when an
    # immediate transaction cannot begin at once.
    w = sqlite3.connect(db, timeout=0)
    try:
        w.execute("BEGIN IMMEDIATE"); w.execute("ROLLBACK"); print("no")
    except sqlite3.OperationalError:
        print("yes")
elif what == "run_outcome":
    row = c.execute("SELECT outcome FROM sync_runs WHERE id = ?", (sys.argv[3],)).fetchone()
    print(row[0] if row else "missing")
elif what == "players_at":
    print(c.execute("SELECT count(*) FROM players WHERE last_seen = ?", (sys.argv[3],)).fetchone()[0])
elif what == "has_account":
    print(c.execute("SELECT count(*) FROM accounts WHERE username = ?", (sys.argv[3],)).fetchone()[0])
elif what == "races":
    print(c.execute("SELECT count(*) FROM races").fetchone()[0],
          digest("SELECT * FROM races ORDER BY race_id"),
          digest("SELECT * FROM race_results ORDER BY race_id, uid"))
elif what == "accounts":
    # The accounts made before the soak (ids up to argv[3]) and every claim.
    upto = int(sys.argv[3])
    print(c.execute("SELECT count(*) FROM accounts WHERE id <= ?", (upto,)).fetchone()[0],
          c.execute("SELECT count(*) FROM verification_requests").fetchone()[0],
          digest(f"SELECT id, username, password_hash, role, goated_uid FROM accounts WHERE id <= {upto} ORDER BY id"),
          digest("SELECT * FROM verification_requests ORDER BY id"))
elif what == "max_account":
    print(c.execute("SELECT coalesce(max(id), 0) FROM accounts").fetchone()[0])
elif what == "integrity":
    print(c.execute("PRAGMA integrity_check").fetchone()[0])
elif what == "runs":
    for row in c.execute("SELECT outcome, coalesce(error_class, '-'), count(*) FROM sync_runs "
                         "GROUP BY 1, 2 ORDER BY 3 DESC"):
        print(f"  {row[2]:5} {row[0]:12} {row[1]}")
elif what == "unrecorded":
    print(c.execute("SELECT count(*) FROM sync_runs WHERE outcome IS NULL OR outcome = 'running' "
                    "OR finished_at IS NULL").fetchone()[0])
PY
}

"$release"/examples/fake_upstream "${SOAK_PLAYERS:-60000}" > "$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/fake.out" ] && break; sleep 0.1; done
fake="$(head -n1 "$work/fake.out")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export GOATED_UPSTREAM__MODE=live GOATED_UPSTREAM__BASE_URL="$fake"
export GOATED_UPSTREAM__REFERRAL_CODE=TEST123 GOATED_UPSTREAM__TOKEN=good-token
export GOATED_UPSTREAM__TIMEOUT_SECS=5 GOATED_UPSTREAM__MAX_RETRIES=1 GOATED_UPSTREAM__RETRY_MAX_SECS=2
export GOATED_UPSTREAM__REQUESTS_PER_MINUTE=60
export GOATED_SYNC__LEADERBOARD_CRON="*/3 * * * * *" GOATED_SYNC__BREAKER_COOLDOWN_SECS=10
export GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 GOATED_LOG__LEVEL=warn GOATED_DATABASE__PATH="$db"

# A race finalized in the past, written before the soak: it must come out unchanged.
"$release"/goated migrate >/dev/null
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO races (race_id, start_date, end_date, prize_pool_cents, distribution, "
          "min_wager_cents, participant_count, total_wagered_cents, finalized_at) VALUES ('202510', "
          "'2025-10-01T00:00:00.000Z', '2025-11-01T00:00:00.000Z', 50000, '[0.5,0.3,0.2]', 0, 3, 123456, "
          "'2025-11-01T00:00:05.000Z')")
for seq, (uid, name, cents, prize) in enumerate([("u1", "Ann", 60000, 25000), ("u2", "Bob", 40000, 15000),
                                                  ("u3", "Cid", 23456, 10000)]):
    c.execute("INSERT INTO race_results VALUES ('202510', ?, ?, ?, ?, ?, ?)", (uid, name, seq, seq + 1, cents, prize))
c.commit()
PY
password="soak-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
GOATED_ADMIN_PASSWORD="$password" "$release"/goated admin create soak_admin --create >/dev/null

kills=0
start_goated() {
  "$release"/goated serve --bind "127.0.0.1:$port" >> "$work/serve.out" 2>> "$work/serve.log" &
  goated_pid=$!
  until curl -fs -o /dev/null "$base/api/health"; do sleep 0.05; done
}
post() { curl -fs -H 'content-type: application/json' "$@"; }
admin_token() {
  post -d "{\"username\":\"soak_admin\",\"password\":\"$password\"}" "$base/api/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["accessToken"])'
}
start_goated
until curl -fs "$base/api/health" | grep -q '"outcome":"success"'; do sleep 0.2; done

# Accounts and verifications that must all survive.
admin="$(admin_token)"
for i in $(seq 1 12); do
  session="$(post -d "{\"username\":\"soaker_$i\",\"password\":\"tall-goat-on-a-hill-$i\"}" "$base/api/auth/register")"
  token="$(echo "$session" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["accessToken"])')"
  uid="$(printf 'u%019d' "$i")"
  claim="$(post -H "authorization: Bearer $token" -d "{\"uid\":\"$uid\"}" "$base/api/verification/request")"
  if [ $((i % 2)) -eq 0 ]; then
    id="$(echo "$claim" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["id"])')"
    post -H "authorization: Bearer $admin" -d "{\"requestId\":$id,\"approve\":true}" \
      "$base/api/verification/confirm" >/dev/null
  fi
done
max_account="$(sql max_account)"
races_before="$(sql races)"; accounts_before="$(sql accounts "$max_account")"
echo "before: races [count races results] $races_before; accounts [accounts claims digests] $accounts_before"

cat > "$work/load.lua" <<'LUA'
local paths = {"/api/wager-races/current", "/api/affiliate/leaderboard?period=this_month&page=2",
  "/api/affiliate/stats", "/api/users/search?q=Player1", "/api/wager-races/history",
  "/api/users/u0000000000000000003", "/api/health"}
local i = 0
server_errors = 0
statuses = {}
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
response = function(status)
  if status >= 500 then server_errors = server_errors + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("server_errors") end
  io.write(string.format("SERVER_ERRORS %d\n", total))
  io.write(string.format("REQUESTS %d\n", summary.requests))
  io.write(string.format("CONNECT_ERRORS %d\n", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA
phases=(none slow 500 429 none garbage timeout 503 401 slow none)
total_secs=$(( rounds * ${#phases[@]} * phase_secs + 20 ))
wrk -t2 -c32 -d"${total_secs}s" --timeout 10s -s "$work/load.lua" "$base" > "$work/wrk.out" 2>&1 &
wrk_pid=$!
# Accounts written the whole time, kills included: each one answered 201 must exist.
touch "$work/writing"
(
  n=0
  while [ -e "$work/writing" ]; do
    n=$((n + 1))
    code="$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
      -d "{\"username\":\"writer_$n\",\"password\":\"tall-goat-writing-$n\"}" "$base/api/auth/register" || true)"
    [ "$code" = 201 ] && echo "writer_$n" >> "$work/written"
    sleep 0.3
  done
) &
writer_pid=$!
faults=0; replaced=0; missed=0; store_kills=0; cut_runs=()
restart_after_kill() {
  kill -9 "$goated_pid"; wait "$goated_pid" 2>/dev/null || true
  kills=$((kills + 1))
  sleep 1
  start_goated
}
kill_mid_sync() {
  # A sync in flight (the fake answers slowly): SIGKILL while it waits for the answer.
  for _ in $(seq 100); do [ "$(sql running)" != "0" ] && break; sleep 0.1; done
  if [ "$(sql running)" = "0" ]; then
    missed=$((missed + 1)); echo "  MISSED: no sync in flight to kill"; return
  fi
  sleep 0.7
  restart_after_kill
  echo "  SIGKILL #$kills while a sync waited for the upstream; restarted"
}
kill_in_store() {
  # A sync whose answer arrived and whose store transaction holds the write lock, seen
  # twice 50 ms apart (short writes, a run's start or an analytics flush, are not).
  for _ in $(seq 600); do
    if [ "$(sql running)" != "0" ] && [ "$(sql write_locked)" = yes ]; then
      sleep 0.05
      if [ "$(sql write_locked)" = yes ]; then
        local run; run="$(sql running_run)"
        kill -9 "$goated_pid"
        wait "$goated_pid" 2>/dev/null || true
        kills=$((kills + 1)); store_kills=$((store_kills + 1)); cut_runs+=("$run")
        echo "  SIGKILL #$kills inside the store transaction of sync run ${run%% *}; restarting"
        sleep 1
        start_goated
        return
      fi
    fi
    sleep 0.05
  done
  missed=$((missed + 1)); echo "  MISSED: no store transaction caught in 30 s"
}
for round in $(seq "$rounds"); do
  for phase in "${phases[@]}"; do
    echo "round $round: upstream fault '$phase' for ${phase_secs}s"
    curl -fs -X POST "$fake/control/sticky/$phase" >/dev/null
    [ "$phase" != none ] && faults=$((faults + 1))
    phase_start=$SECONDS
    if [ "$phase" = slow ] || [ "$phase" = timeout ]; then kill_mid_sync; fi
    if [ "$phase" = none ]; then kill_in_store; fi
    sleep $(( phase_secs - (SECONDS - phase_start) > 0 ? phase_secs - (SECONDS - phase_start) : 0 ))
    if [ "$phase" = 401 ]; then
      # Syncing stops until the token changes: an admin replaces it.
      replaced=$((replaced + 1))
      post -X PUT -H "authorization: Bearer $(admin_token)" -d "{\"token\":\"good-token-$replaced\"}" \
        "$base/api/admin/upstream/token" >/dev/null
      echo "  the refused token was replaced by an admin"
    fi
  done
done
curl -fs -X POST "$fake/control/sticky/none" >/dev/null
# Recovery: once the upstream answers again, a sync succeeds and the race has players.
recovered=no
recovery_start="$(date -u +%Y-%m-%dT%H:%M:%S)"
for _ in $(seq 300); do
  health="$(curl -fs "$base/api/health" || true)"
  if echo "$health" | python3 -c "
import json, sys
d = json.load(sys.stdin)['data']['lastSync']
sys.exit(0 if d['outcome'] == 'success' and d['startedAt'][:19] >= sys.argv[1] else 1)" "$recovery_start" 2>/dev/null; then
    recovered=yes; break
  fi
  sleep 0.2
done
participants="$(curl -fs "$base/api/wager-races/current?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["participantCount"])' || echo 0)"
rm -f "$work/writing"; wait "$writer_pid" 2>/dev/null || true
wait "$wrk_pid" || true
kill -TERM "$goated_pid"; wait "$goated_pid" 2>/dev/null || true; goated_pid=""

fail=0
check() { # $1 name, $2 ok?, $3 detail
  if [ "$2" = yes ]; then echo "ok    $1: $3"; else echo "FAIL  $1: $3"; fail=1; fi
}
server_errors="$(awk '/^SERVER_ERRORS/ {print $2}' "$work/wrk.out")"
requests="$(awk '/^REQUESTS/ {print $2}' "$work/wrk.out")"
connect_errors="$(awk '/^CONNECT_ERRORS/ {print $2}' "$work/wrk.out")"
rps="$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")"
integrity="$(sql integrity)"; races_after="$(sql races)"; accounts_after="$(sql accounts "$max_account")"
written=0; lost=0
if [ -e "$work/written" ]; then
  while read -r name; do
    written=$((written + 1))
    [ "$(sql has_account "$name")" = 1 ] || { lost=$((lost + 1)); echo "  lost account $name"; }
  done < "$work/written"
fi
leftovers=0; cut_outcomes=""
for run in "${cut_runs[@]}"; do
  id="${run%% *}"; started="${run#* }"
  leftovers=$((leftovers + $(sql players_at "$started")))
  cut_outcomes="$cut_outcomes $id:$(sql run_outcome "$id")"
done
unrecorded="$(sql unrecorded)"
echo
echo "load: $requests requests in ${total_secs}s ($rps req/s), $connect_errors failed to connect or timed out (process down)"
echo "faults: $faults fault phases ($((rounds)) × ${phases[*]}), $kills SIGKILLs ($store_kills inside a store transaction), $replaced token replacements"
echo "sync runs by outcome and error class:"; sql runs
check "no 5xx" "$([ "${server_errors:-1}" = 0 ] && echo yes || echo no)" "${server_errors:-?} server errors"
check "integrity_check" "$([ "$integrity" = ok ] && echo yes || echo no)" "$integrity"
check "finalized races unchanged" "$([ "$races_before" = "$races_after" ] && echo yes || echo no)" "$races_after"
check "accounts and verifications intact" "$([ "$accounts_before" = "$accounts_after" ] && echo yes || echo no)" "$accounts_after"
check "every sync run recorded with its outcome" "$([ "$unrecorded" = 0 ] && echo yes || echo no)" "$unrecorded without one"
check "every kill landed where it was aimed" "$([ "$missed" = 0 ] && echo yes || echo no)" "$kills kills, $missed aimed but missed"
check "kills inside the store transaction" "$([ "$store_kills" -ge "$rounds" ] && echo yes || echo no)" "$store_kills (runs:$cut_outcomes)"
check "a cut store transaction left nothing" "$([ "$leftovers" = 0 ] && echo yes || echo no)" "$leftovers players carry a cut sync's time"
check "accounts written during the kills all exist" "$([ "$lost" = 0 ] && [ "$written" -gt 0 ] && echo yes || echo no)" "$written answered 201, $lost missing"
check "recovered after the faults" "$([ "$recovered" = yes ] && [ "${participants:-0}" -gt 0 ] && echo yes || echo no)" "a sync succeeded: $recovered; race participants $participants"
if grep -q "panicked" "$work/serve.log"; then check "no panic" no "$(grep -m1 panicked "$work/serve.log")"; fi
exit "$fail"
