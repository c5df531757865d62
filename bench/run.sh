#!/usr/bin/env bash
# Reproduces every table in docs/benchmarks.md from a fresh clone:
#   bash bench/run.sh            # the full run (about 20 minutes)
#   bash bench/run.sh --quick    # 1 repeat of 3 s, for trying changes
# Installs h2load (nghttp2-client), wrk and the tutorial's Python system into
# bench/.venv, builds the release binaries, then runs bench/run.py and, for
# the full run, bench/instructions.sh (which installs valgrind).
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
bench/.venv/bin/python bench/run.py "$@"

# The full run also counts instructions per request (bench/instructions.sh)
# and writes those tables between their own markers.
if [ "$#" -eq 0 ]; then
  counts="$(bash bench/instructions.sh)"
  COUNTS="$counts" python3 - <<'EOF'
import os, pathlib
doc = pathlib.Path("docs/benchmarks.md")
begin, end = "<!-- instructions:begin -->", "<!-- instructions:end -->"
before, rest = doc.read_text().split(begin, 1)
after = rest.split(end, 1)[1]
doc.write_text(f"{before}{begin}\n{os.environ['COUNTS']}\n{end}{after}")
print(f"wrote the instruction counts to {doc}")
EOF
fi
