#!/usr/bin/env bash
# Reproduces every table in docs/benchmarks.md from a fresh clone:
#   bash bench/run.sh            # the full run (about 20 minutes)
#   bash bench/run.sh --quick    # 1 repeat of 3 s, for trying changes
# Installs h2load (nghttp2-client), wrk and the tutorial's Python system into
# bench/.venv, builds the release binaries, then runs bench/run.py.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v nghttp >/dev/null || need+=(nghttp2-client)
command -v wrk >/dev/null || need+=(wrk)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/python/requirements.txt
cargo build --release --locked --bins
exec bench/.venv/bin/python bench/run.py "$@"
