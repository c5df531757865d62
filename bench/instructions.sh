#!/usr/bin/env bash
# Instructions per page, counted by valgrind's callgrind: what each service
# executes to serve one `GET /` (the page and its Recommend call), bare and
# with the telemetry at samplers 0, 0.1 and 1 (always-on, as it ships).
# Unlike throughput, the count barely moves between runs (about ±0.5 %), so
# it shows changes that the machine's noise hides. It counts instructions,
# not time: cache misses, syscalls and the kernel's share are not in it.
#   bash bench/instructions.sh [pages]     # default 2000, after 500 warm-up
# Also instructions per Recommend call (gRPC alone, as the saturated h2load
# run sends it).
# Expects the release binaries (`bash bench/run.sh` builds them; or
# `cargo build --release --bins`); `BIN=dir` counts another build's, and
# `KEEP=dir` keeps each callgrind profile there (for callgrind_annotate).
# Installs valgrind and h2load if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pages="${1:-2000}"
bin=${BIN:-target/release}
out="$(mktemp -d)"

need=()
command -v valgrind >/dev/null || need+=(valgrind)
command -v h2load >/dev/null || need+=(nghttp2-client)
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Five distinct free ports, chosen together so none repeats.
read -r grpc rec_admin http mkt_admin sink < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(5)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

"$bin/otlp-sink" --addr "127.0.0.1:$sink" >/dev/null 2>&1 &
sink_pid=$!
pids=()
cleanup() { kill "${pids[@]}" "$sink_pid" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT

# A `RecommendRequest {user_id: 1, category: MYSTERY, max_results: 3}`,
# length-prefixed as gRPC frames it (as bench/run.py sends it).
printf '\x00\x00\x00\x00\x06\x08\x01\x10\x01\x18\x03' >"$out/request.bin"
recommend=(-d "$out/request.bin" -H 'content-type: application/grpc' -H 'te: trailers'
  "http://127.0.0.1:$grpc/recommendations.v1.RecommendationsService/Recommend")

vg=(valgrind --tool=callgrind "--callgrind-out-file=$out/%p.out")
# The shipped telemetry, except that export runs every 200 ms with a queue
# no burst fills, and each window below waits a second after its load: so a
# window counts the export of exactly the spans it made, none dropped (the
# batch boundaries otherwise move the sampled rows by several per cent).
otel=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$sink"
  OTEL_TRACES_SAMPLER=parentbased_traceidratio RUST_LOG=info SHUTDOWN_DELAY=0s
  OTEL_BSP_SCHEDULE_DELAY=200 OTEL_BSP_MAX_QUEUE_SIZE=65536 OTEL_BLRP_SCHEDULE_DELAY=200)

# Waits until 127.0.0.1:$1 accepts: a process under valgrind starts slowly,
# and more slowly still on a busy machine.
wait_for_port() {
  for _ in $(seq 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1 after a minute" >&2
  exit 1
}

# Starts recommendations (bare or with telemetry at a sampler) under callgrind.
start_recommendations() {
  if [ "$1" = bare ]; then
    GRPC_ADDR="127.0.0.1:$grpc" "${vg[@]}" "$bin/bare-recommendations" >/dev/null 2>&1 &
  else
    env "${otel[@]}" OTEL_TRACES_SAMPLER_ARG="$2" GRPC_ADDR="127.0.0.1:$grpc" \
      ADMIN_ADDR="127.0.0.1:$rec_admin" "${vg[@]}" "$bin/recommendations" >/dev/null 2>&1 &
  fi
  pids+=($!)
  wait_for_port "$grpc"
}

start_marketplace() {
  if [ "$1" = bare ]; then
    HTTP_ADDR="127.0.0.1:$http" RECOMMENDATIONS_URL="http://127.0.0.1:$grpc" \
      "${vg[@]}" "$bin/bare-marketplace" >/dev/null 2>&1 &
  else
    env "${otel[@]}" OTEL_TRACES_SAMPLER_ARG="$2" HTTP_ADDR="127.0.0.1:$http" \
      ADMIN_ADDR="127.0.0.1:$mkt_admin" RECOMMENDATIONS_URL="http://127.0.0.1:$grpc" \
      "${vg[@]}" "$bin/marketplace" >/dev/null 2>&1 &
  fi
  pids+=($!)
  wait_for_port "$http"
}

# Warms up with `load 500`, counts `load $count`, sets `counts` to the
# instructions per request of each started process, then stops them.
count() {
  local load=$1
  "$load" 500 || { echo "warm-up failed" >&2; exit 1; }
  sleep 1
  for pid in "${pids[@]}"; do callgrind_control -z "$pid" >/dev/null 2>&1; done
  "$load" "$count" || { echo "load failed" >&2; exit 1; }
  sleep 1
  for pid in "${pids[@]}"; do callgrind_control -d "$pid" >/dev/null 2>&1; done
  counts=()
  for pid in "${pids[@]}"; do
    local total
    total=$(awk '/^(summary|totals):/ {print $2; exit}' "$out/$pid.out.1")
    counts+=("$((total / count))")
  done
  kill "${pids[@]}"
  wait "${pids[@]}" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    for pid in "${pids[@]}"; do cp "$out/$pid.out.1" "$KEEP/$load-$kind-$sampler-$pid.out"; done
  fi
  pids=()
  rm -f "$out"/*.out*
}

# A load succeeds only if every request got a 2xx. gRPC errors are HTTP 200
# too, so one call's trailers are checked for `grpc-status: 0` first.
page_load() { h2load --h1 -n "$1" -c 8 "http://127.0.0.1:$http/" | grep -q " $1 2xx"; }
recommend_load() {
  nghttp -v "${recommend[@]}" | grep -q "grpc-status: 0" &&
    h2load -n "$1" -c 4 -m 16 "${recommend[@]}" | grep -q " $1 2xx"
}

systems=("bare (no telemetry layers)|bare|0"
  "telemetry, sampler 0 (nothing recorded)|telemetry|0"
  "telemetry, sampler 0.1|telemetry|0.1"
  "telemetry, always-on (shipped)|telemetry|1")

# One row per system: starts recommendations (and the marketplace, if
# `$2` is `page`), counts `load`, and prints each process's count and, for
# two, their sum.
rows() {
  local load=$1
  for system in "${systems[@]}"; do
    IFS='|' read -r label kind sampler <<<"$system"
    start_recommendations "$kind" "$sampler"
    if [ "$2" = page ]; then start_marketplace "$kind" "$sampler"; fi
    count "$load"
    if [ "${#counts[@]}" -eq 2 ]; then
      echo "| $label | ${counts[0]} | ${counts[1]} | $((counts[0] + counts[1])) |"
    else
      echo "| $label | ${counts[0]} |"
    fi
  done
}

count=$pages
echo "Instructions per page (GET /, $count pages over 8 connections, after 500):"
echo
echo "| System | recommendations | marketplace | both |"
echo "|---|---|---|---|"
rows page_load page

count=$((pages * 5))
echo
echo "Instructions per Recommend call ($count calls, 4 connections x 16 streams, after 500):"
echo
echo "| System | recommendations |"
echo "|---|---|"
rows recommend_load recommend
