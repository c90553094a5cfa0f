#!/usr/bin/env bash
# Database growth per month: 2,500 players synced every 5 minutes for 31 days with the
# monthly race and a weekly series running (examples/db_growth.rs).
# Usage: scripts/db-growth.sh [PLAYERS] [DAYS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --example db_growth -- "${1:-2500}" "${2:-31}"
