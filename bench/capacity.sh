#!/usr/bin/env bash
# Measures the per-request costs docs/capacity.md's model is built on and
# prints them as the doc's tables (about 5 minutes on 2 cores, after the
# build):
#   bash bench/capacity.sh           # the record
#   bash bench/capacity.sh --quick   # a short try, not for the record
# Installs h2load (nghttp2-client) if missing, builds the release binaries
# (services and crates/bench's otlp-sink), then runs bench/capacity.py.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v h2load >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nghttp2-client
fi
cargo build --release --locked --bins
exec python3 bench/capacity.py "$@"
