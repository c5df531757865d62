#!/usr/bin/env bash
# Validates the deploy stack without Docker or a cluster:
#   - docker-compose.yaml against the Compose specification's schema;
#   - the rendered Kustomize output against Kubernetes' schemas, strictly,
#     and its custom resources (cert-manager's) against their vendored CRD
#     schemas (deploy/checks/schemas/, with the version named), as strictly;
#   - Prometheus config and rules with promtool, and the SLO rules' unit tests;
#   - cross-file consistency (deploy/checks/test_cross_files.py, and
#     deploy/checks/test_mtls.py for the mutual TLS overlays);
#   - the collector configs and tiers (deploy/checks/test_collector_*.py);
#   - every dashboard query against the real services and a real Prometheus
#     (deploy/checks/test_native_prometheus.py).
#
# Usage, from anywhere: bash deploy/validate.sh
# It installs what it lacks (promtool and prometheus from apt, Python tools
# into .venv), so it is safe to run again and again. Every step runs even
# after a failure; the summary at the end lists each one, and the exit status
# is non-zero if any failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest Kubernetes these manifests promise to work on.
K8S_VERSION=1.30.0
RENDERED=.tmp/k8s-rendered.yaml
RENDERED_MTLS=.tmp/k8s-mtls-rendered.yaml
# The mTLS overlay's built-in objects alone, for kubernetes-validate.
RENDERED_MTLS_BUILTIN=.tmp/k8s-mtls-rendered-builtin.yaml

step() { printf '\n=== %s\n' "$*"; }

results=()
failed=0
# run NAME COMMAND...: runs one check and records PASS or FAIL for the summary.
run() {
  local name=$1
  shift
  step "$name"
  if "$@"; then
    results+=("PASS  $name")
  else
    results+=("FAIL  $name")
    failed=1
  fi
}

step "tools"
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  # Debian's package: promtool and prometheus 2.42. Only its binaries are used;
  # the packaged service is not started here.
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq prometheus >/dev/null
fi
promtool --version 2>&1 | head -n 1
command -v kubectl >/dev/null || {
  echo "kubectl is required (for \`kubectl kustomize\`): https://kubernetes.io/docs/tasks/tools/" >&2
  exit 1
}
kubectl version --client 2>/dev/null | head -n 2
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r deploy/requirements.txt
# The native test runs the services' debug binaries: the ones named by
# RECOMMENDATIONS_BIN and MARKETPLACE_BIN, or else cargo's, wherever its
# target directory is (CARGO_TARGET_DIR, or a build.target-dir setting), built
# here if missing.
if [ -z "${RECOMMENDATIONS_BIN:-}" ] || [ -z "${MARKETPLACE_BIN:-}" ]; then
  target_dir=$(cargo metadata --no-deps --format-version 1 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  export RECOMMENDATIONS_BIN="${RECOMMENDATIONS_BIN:-$target_dir/debug/recommendations}"
  export MARKETPLACE_BIN="${MARKETPLACE_BIN:-$target_dir/debug/marketplace}"
  if [ ! -x "$RECOMMENDATIONS_BIN" ] || [ ! -x "$MARKETPLACE_BIN" ]; then
    cargo build --locked --package recommendations --package marketplace --bins
  fi
fi

run "compose: schema (compose-spec), base and mTLS overlay" \
  .venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yaml docker-compose.mtls.yaml

mkdir -p "$(dirname "$RENDERED")"
# render DIR OUT: kustomize build of DIR into OUT.
render() { kubectl kustomize "$1" >"$2" && echo "rendered $(grep -c '^kind:' "$2") objects to $2"; }
k8s_validate() {
  .venv/bin/kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$1" &&
    echo "all $(grep -c '^kind:' "$1") objects valid against Kubernetes $K8S_VERSION (strict)"
}
run "k8s: kustomize build" render deploy/k8s "$RENDERED"
run "k8s: schemas, strict, Kubernetes $K8S_VERSION" k8s_validate "$RENDERED"
run "k8s mTLS overlay: kustomize build" render deploy/k8s/overlays/mtls "$RENDERED_MTLS"
run "k8s mTLS overlay: cert-manager objects against the vendored CRD schemas, strict" \
  .venv/bin/python deploy/checks/validate_custom_resources.py "$RENDERED_MTLS" "$RENDERED_MTLS_BUILTIN"
run "k8s mTLS overlay: schemas, strict, Kubernetes $K8S_VERSION" k8s_validate "$RENDERED_MTLS_BUILTIN"

run "prometheus: promtool check config" \
  promtool check config deploy/prometheus/prometheus.yml
rule_files=()
for f in deploy/prometheus/rules/*.yml; do
  case "$f" in *_test.yml) ;; *) rule_files+=("$f") ;; esac
done
run "prometheus: promtool check rules" promtool check rules "${rule_files[@]}"
run "prometheus: promtool test rules (SLO alerts)" \
  promtool test rules deploy/prometheus/rules/*_test.yml

run "cross-file checks" \
  env K8S_RENDERED="$RENDERED" K8S_MTLS_RENDERED="$RENDERED_MTLS" .venv/bin/python -m pytest -q deploy/checks/test_cross_files.py deploy/checks/test_mtls.py
# No collector runs here: these checks stand in for its start-up (keys of the
# pinned release) and for what it would silently get wrong (sampling order,
# policies, decision_wait, tiers). deploy/checks/fault_injection.py shows
# each one failing on its fault.
run "collector configs and tiers (compose, k8s agent, k8s sampler)" \
  env K8S_RENDERED="$RENDERED" .venv/bin/python -m pytest -q deploy/checks/test_collector_configs.py deploy/checks/test_collector_tiers.py
run "dashboards and SLO rules vs. real services and Prometheus" \
  .venv/bin/python -m pytest -q -rs deploy/checks/test_native_prometheus.py

step "summary"
printf '%s\n' "${results[@]}"
if [ "$failed" -ne 0 ]; then
  echo "deploy/validate.sh: FAILED"
  exit 1
fi
echo "deploy/validate.sh: all ${#results[@]} checks passed"
