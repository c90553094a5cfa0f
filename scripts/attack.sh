#!/usr/bin/env bash
# Throws what a public server meets at the release binary, on loopback only: huge and
# endless bodies, oversized WebSocket messages and socket floods, throttling dodges,
# SIGHUP, absurd upstream amounts, replayed and overflowing signatures, admin actions
# from outside the allow-list, slowloris headers, cache blow-up, schema edge cases.
# One line per case with the answer and the server's memory before and after; the
# summary ends with `N passed, N failed` and the exit status says whether all passed.
# CI runs it after the fuzzing. Every case is bounded in count and time (~1 minute).
#   scripts/attack.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Where cargo puts release builds (CARGO_TARGET_DIR is honoured).
release="${CARGO_TARGET_DIR:-target}/release"
cargo build --release --locked --quiet --bin goated --example fake_upstream
exec python3 scripts/attack.py "$release"
