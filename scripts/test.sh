#!/usr/bin/env bash
# The test command: installs what the browser tests need (Debian's Chromium and its
# WebDriver; nothing is downloaded from elsewhere) when missing, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing chromium and chromium-driver (Debian packages) for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
cargo test --locked "$@"
