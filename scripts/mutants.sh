#!/usr/bin/env bash
# Mutation testing (cargo-mutants) on the modules where a silent bug costs money or
# security: each mutant is a small change to the code (a boundary, an operator, a
# returned value); one that no test notices is a test missing. On demand, not in CI: on
# two cores a full run takes hours (each mutant rebuilds and runs the suite).
#
#   scripts/mutants.sh                 every module below, the whole suite but browsers
#   scripts/mutants.sh --lib FILE...   only these files, unit tests only (minutes)
#   scripts/mutants.sh --only "FILTERS" FILE...
#                                      these files, unit tests and the integration tests
#                                      whose names contain one of FILTERS (e.g.
#                                      "payouts month_boundary races:: migrate proof cli::"
#                                      for finalization and proofs: about a minute a mutant)
#
# Prints, per file, the mutants caught / missed / timed out / unviable and the share
# caught of the viable ones; the missed ones are listed in mutants.out/missed.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants

scope=()
filters=()
if [ "${1:-}" = "--lib" ]; then
  shift
  scope=(--lib)
elif [ "${1:-}" = "--only" ]; then
  read -r -a filters <<<"$2"
  shift 2
  scope=(--lib --test api)
fi
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(
    src/domain/prizes.rs src/domain/ranking.rs src/domain/calendar.rs src/domain/money.rs
    src/domain/proof.rs src/domain/payouts.rs src/domain/snapshot.rs src/domain/transform.rs
    src/auth/signing.rs src/auth/throttle.rs src/auth/jwt.rs
    src/races/finalize.rs src/domain/races.rs src/db/proofs.rs src/http/cache.rs
  )
fi
args=()
for f in "${files[@]}"; do args+=(--file "$f"); done

# Browser tests are skipped: Chromium makes every mutant minutes slower and they
# test pages, not these modules. So is the 10-second slow-headers test.
cargo mutants "${args[@]}" --no-shuffle --timeout 240 -- "${scope[@]}" -- "${filters[@]}" \
  --skip browser:: --skip an_admin_pays --skip headers_that_trickle || true

python3 - <<'PY'
import json, collections
data = json.load(open("mutants.out/outcomes.json"))
per = collections.defaultdict(collections.Counter)
for o in data["outcomes"]:
    scenario = o.get("scenario")
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue
    path = scenario["Mutant"]["file"]
    per[path][o["summary"]] += 1
total = collections.Counter()
for path in sorted(per):
    c = per[path]
    total.update(c)
    viable = c["CaughtMutant"] + c["MissedMutant"] + c["Timeout"]
    share = 100 * (c["CaughtMutant"] + c["Timeout"]) / viable if viable else 100
    print(f"{path}: {c['CaughtMutant']} caught, {c['MissedMutant']} missed, "
          f"{c['Timeout']} timeouts, {c['Unviable']} unviable: {share:.0f}% of viable caught")
viable = total["CaughtMutant"] + total["MissedMutant"] + total["Timeout"]
print(f"all: {total['CaughtMutant'] + total['Timeout']} of {viable} viable caught "
      f"({100 * (total['CaughtMutant'] + total['Timeout']) / max(viable, 1):.0f}%)")
PY
