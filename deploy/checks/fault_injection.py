"""Shows that the collector checks can fail: for each fault below, copy the
deploy files to a scratch directory, make one edit there, and run the test
meant to catch it against the copy (conftest.py's DEPLOY_ROOT). Every test
must fail on its fault, and pass on the unedited copy.

    .venv/bin/python deploy/checks/fault_injection.py

Not collected by pytest (the name does not start with test_): it runs
pytest about twenty times, so deploy/validate.sh does not run it. Run it
after changing a check, to see the check still bites."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKS = "deploy/checks"
COMPOSE_COLLECTOR = "deploy/otel-collector/config.yaml"
AGENT = "deploy/k8s/base/otel-collector/agent.yaml"
SAMPLER = "deploy/k8s/base/otel-collector/sampler.yaml"

# (what breaks, file, text to replace, replacement, test that must fail)
FAULTS = [
    ("a pipeline names an undefined component", COMPOSE_COLLECTOR,
     "exporters: [spanmetrics, servicegraph, forward/sampling]",
     "exporters: [spanmetrics, servicegraph, forward/sampling, debug]",
     "test_collector_configs.py::test_pipelines_name_only_defined_components[compose]"),
    ("a defined component is unused", AGENT,
     "  # processor/batchprocessor/config.go (core).\n  batch:",
     "  batch/unused:\n  batch:",
     "test_collector_configs.py::test_every_defined_component_is_used[k8s-agent]"),
    ("spanmetrics sits after sampling", COMPOSE_COLLECTOR,
     "exporters: [spanmetrics, servicegraph, forward/sampling]\n",
     "exporters: [servicegraph, forward/sampling]\n",
     None),  # Second half below: spanmetrics moves to the sampled pipeline.
    ("servicegraph sits after sampling", SAMPLER,
     "      exporters: [servicegraph, forward/sampling]\n",
     "      exporters: [forward/sampling]\n",
     None),
    ("the error policy is missing", SAMPLER,
     "          status_codes: [ERROR]", "          status_codes: [UNSET]",
     "test_collector_configs.py::test_sampling_keeps_errors_slow_and_forced_traces[k8s-sampler]"),
    ("the latency policy is missing", COMPOSE_COLLECTOR,
     "        type: latency\n        latency:\n          threshold_ms: 250",
     "        type: string_attribute\n        string_attribute:\n          key: slow\n          values: [yes]",
     "test_collector_configs.py::test_sampling_keeps_errors_slow_and_forced_traces[compose]"),
    ("the latency threshold differs from the SLO rules'", SAMPLER,
     "threshold_ms: 250", "threshold_ms: 300",
     "test_collector_configs.py::test_latency_threshold_is_the_slo_threshold[k8s-sampler]"),
    ("decision_wait is below the services' export delay plus margin", COMPOSE_COLLECTOR,
     "decision_wait: 10s", "decision_wait: 6s",
     "test_collector_configs.py::test_decision_wait_covers_the_services_export_delay[compose]"),
    ("the services' export delay grows past decision_wait", "deploy/k8s/base/config/marketplace.env",
     "OTEL_TRACES_SAMPLER=parentbased_always_on\n",
     "OTEL_TRACES_SAMPLER=parentbased_always_on\nOTEL_BSP_SCHEDULE_DELAY=8000\n",
     "test_collector_configs.py::test_decision_wait_covers_the_services_export_delay[k8s-sampler]"),
    ("memory_limiter is not first", SAMPLER,
     "processors: [memory_limiter, tail_sampling, batch]", "processors: [tail_sampling, memory_limiter, batch]",
     "test_collector_configs.py::test_memory_limiter_runs_first_in_every_pipeline[k8s-sampler]"),
    ("compose and Kubernetes policies drift apart", COMPOSE_COLLECTOR,
     "decision_wait: 10s", "decision_wait: 12s",
     "test_collector_configs.py::test_compose_and_kubernetes_keep_the_same_traces"),
    ("an option the pinned collector does not know", SAMPLER,
     "    decision_wait: 10s\n", "    decision_wait: 10s\n    decision_wait_after_root_received: 2s\n",
     "test_collector_configs.py::test_every_key_is_one_the_pinned_collector_accepts[k8s-sampler]"),
    ("a misspelt option", AGENT,
     "spike_limit_mib: 200", "spike_limit_mb: 200",
     "test_collector_configs.py::test_every_key_is_one_the_pinned_collector_accepts[k8s-agent]"),
    ("the forced policy without max_value matches nothing", SAMPLER,
     "          max_value: 2147483647\n", "",
     "test_collector_configs.py::test_sampling_keeps_errors_slow_and_forced_traces[k8s-sampler]"),
    ("a service samples at the head again", "deploy/k8s/base/config/recommendations.env",
     "OTEL_TRACES_SAMPLER=parentbased_always_on\n",
     "OTEL_TRACES_SAMPLER=parentbased_traceidratio\nOTEL_TRACES_SAMPLER_ARG=0.1\n",
     "test_collector_configs.py::test_services_export_every_span"),
    ("compose's baseline is not 100 %", "docker-compose.yaml",
     'TRACE_BASELINE_PERCENT: "100"', 'TRACE_BASELINE_PERCENT: "10"',
     "test_collector_configs.py::test_the_baseline_is_one_value_per_environment"),
    ("num_traces cannot hold decision_wait of traces", SAMPLER,
     "num_traces: 20000", "num_traces: 6000",
     "test_collector_configs.py::test_num_traces_holds_a_decision_wait_of_traces[k8s-sampler]"),
    ("the agent's Role misses the Endpoints its resolver watches", "deploy/k8s/base/otel-collector.yaml",
     "    resources: [endpoints]", "    resources: [services]",
     "test_collector_tiers.py::test_agent_rbac_covers_what_it_watches"),
    ("no NetworkPolicy admits the agents to the samplers", "deploy/k8s/base/network-policies.yaml",
     "  name: otel-sampler-ingress-otlp\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: otel-sampler\n",
     "  name: otel-sampler-ingress-otlp\nspec:\n  podSelector:\n    matchLabels:\n      app.kubernetes.io/name: otel-sampler-old\n",
     "test_collector_tiers.py::test_network_policies_allow_the_telemetry_path"),
    ("a dashboard queries a metric the collector does not export", "deploy/grafana/dashboards/telemetry-pipeline.json",
     "otelcol_exporter_queue_capacity", "otelcol_exporter_queue_capacity_total",
     "test_collector_tiers.py::test_dashboards_use_metric_names_the_collector_exports"),
    ("a ${env:...} the sampler needs is not set", "deploy/k8s/base/otel-sampler.yaml",
     "            - name: TEMPO_OTLP_ENDPOINT\n              value: tempo.monitoring.svc.cluster.local:4317\n", "",
     "test_collector_configs.py::test_every_env_reference_is_set_where_the_collector_runs[k8s-sampler]"),
]

# Faults that take a second edit: (file, text, replacement, test that must fail).
SECOND_EDITS = {
    "spanmetrics sits after sampling": (
        COMPOSE_COLLECTOR, "      exporters: [otlp/tempo]\n", "      exporters: [otlp/tempo, spanmetrics]\n",
        "test_collector_configs.py::test_trace_metrics_count_every_span[compose]"),
    "servicegraph sits after sampling": (
        SAMPLER, "      exporters: [otlp/tempo]\n", "      exporters: [otlp/tempo, servicegraph]\n",
        "test_collector_configs.py::test_trace_metrics_count_every_span[k8s-sampler]"),
}


def copy_tree(into):
    into.mkdir(parents=True)
    for name in ("docker-compose.yaml", "docker-compose.mtls.yaml"):
        shutil.copy(ROOT / name, into / name)
    shutil.copytree(ROOT / "deploy", into / "deploy", ignore=shutil.ignore_patterns(".tmp", "__pycache__"))


def edit(root, path, old, new):
    file = root / path
    text = file.read_text()
    assert text.count(old) == 1, f"{path}: expected one {old!r}"
    file.write_text(text.replace(old, new))


def run_test(root, node):
    env = dict(os.environ, DEPLOY_ROOT=str(root))
    env.pop("K8S_RENDERED", None)
    env.pop("K8S_MTLS_RENDERED", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{CHECKS}/{node}"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        clean = Path(scratch) / "clean"
        copy_tree(clean)
        nodes = {f[4] for f in FAULTS if f[4]} | {s[3] for s in SECOND_EDITS.values()}
        for node in sorted(nodes):
            if run_test(clean, node).returncode != 0:
                print(f"NOT CLEAN  {node} fails on the unedited files")
                failures += 1
        for what, path, old, new, node in FAULTS:
            root = Path(scratch) / f"fault-{len(list(Path(scratch).iterdir()))}"
            copy_tree(root)
            edit(root, path, old, new)
            if what in SECOND_EDITS:
                path2, old2, new2, node = SECOND_EDITS[what]
                edit(root, path2, old2, new2)
            result = run_test(root, node)
            caught = result.returncode != 0 and " failed" in result.stdout
            reason = next((line for line in result.stdout.splitlines() if line.startswith("E ")), "").strip()
            print(f"{'FAILS' if caught else 'MISSED':6} {what}\n       {node}\n       {reason[:160]}")
            failures += not caught
    print(f"{len(FAULTS)} faults, {failures} not caught" if failures else f"all {len(FAULTS)} faults caught")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
