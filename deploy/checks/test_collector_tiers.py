"""Checks that the rendered Kubernetes manifests run the collector as two
tiers that fit together: agents that route every span of a trace to one
sampler, samplers behind a headless Service, the RBAC and NetworkPolicies
each flow needs, probes on the health_check extension, and dashboards that
query metric names the pinned collector exports.

The collector configs themselves are checked in test_collector_configs.py."""

import json
import re

import pytest
import yaml

from collector_metrics import COLLECTOR_METRICS, TRACE_DERIVED_METRICS
from conftest import ROOT, K8S_TIERS
from queries import strings_under
from test_cross_files import _of_kind, _selects


def _workload(objects, tier):
    kind, name = K8S_TIERS[tier]
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _port(endpoint):
    return int(str(endpoint).rsplit(":", 1)[1])


def _container(workload):
    return workload["spec"]["template"]["spec"]["containers"][0]


def _pod_labels(workload):
    return workload["spec"]["template"]["metadata"]["labels"]


def test_sampler_is_a_statefulset_behind_a_headless_service(k8s_objects, collector_runs):
    sampler = _workload(k8s_objects, "k8s-sampler")
    services = {s["metadata"]["name"]: s for s in _of_kind(k8s_objects, "Service")}
    service = services.get(sampler["spec"]["serviceName"])
    assert service, f"the StatefulSet's serviceName {sampler['spec']['serviceName']} is not a Service here"
    assert service["spec"].get("clusterIP") == "None", (
        "the sampler Service must be headless: the agents hash trace ids over its pod addresses"
    )
    assert not service["spec"].get("publishNotReadyAddresses"), "an unready sampler must leave the ring"
    assert _selects({"matchLabels": service["spec"]["selector"]}, _pod_labels(sampler)), "the sampler Service selects no sampler pod"
    receiver_port = _port(collector_runs["k8s-sampler"].config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    container_ports = {p["name"]: p["containerPort"] for p in _container(sampler)["ports"]}
    assert any(container_ports.get(p["targetPort"], p["targetPort"]) == receiver_port
               for p in service["spec"]["ports"]), f"no Service port reaches the sampler's OTLP receiver ({receiver_port})"
    assert not [h for h in _of_kind(k8s_objects, "HorizontalPodAutoscaler")
                if h["spec"]["scaleTargetRef"]["name"] == sampler["metadata"]["name"]], (
        "the sampler tier must not autoscale: every change of replicas moves trace ids between samplers"
    )


def test_agents_route_every_trace_whole_to_the_sampler_service(k8s_objects, collector_runs):
    agent = collector_runs["k8s-agent"].config
    traces = [spec for name, spec in agent["service"]["pipelines"].items() if name.split("/")[0] == "traces"
              and "otlp" in spec.get("receivers", [])]
    assert traces, "the agent has no traces pipeline from its OTLP receiver"
    exporters = {e for spec in traces for e in spec["exporters"]}
    balancers = [e for e in exporters if e.split("/")[0] == "loadbalancing"]
    assert balancers, f"the agent's traces go to {sorted(exporters)}, not through a loadbalancing exporter"
    assert not [e for e in exporters if e.split("/")[0] in ("otlp", "otlphttp")], (
        "the agent must not send traces on directly: only whole traces, through the samplers"
    )
    sampler = _workload(k8s_objects, "k8s-sampler")
    namespace = sampler["metadata"].get("namespace", "default")
    for balancer in balancers:
        config = agent["exporters"][balancer]
        assert config.get("routing_key", "traceID") == "traceID", f"{balancer} must route by trace id"
        resolver = config["resolver"]
        if "k8s" in resolver:
            service = resolver["k8s"]["service"].replace("${env:POD_NAMESPACE}", namespace)
            ports = resolver["k8s"].get("ports", [4317])
        else:
            assert "dns" in resolver, f"{balancer}: resolve the sampler Service with the k8s or dns resolver"
            service = resolver["dns"]["hostname"].split(".svc")[0]
            ports = [int(resolver["dns"].get("port", 4317))]
        assert service in (sampler["spec"]["serviceName"], f"{sampler['spec']['serviceName']}.{namespace}"), (
            f"{balancer} resolves {service}, not the sampler's headless Service"
        )
        sampler_port = _port(collector_runs["k8s-sampler"].config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
        assert ports == [sampler_port], f"{balancer} sends to ports {ports}; the samplers listen on {sampler_port}"
        assert config.get("sending_queue", {}).get("enabled") and config.get("retry_on_failure", {}).get("enabled"), (
            f"{balancer}: queue and retry at the loadbalancing level, so a send that failed is routed again"
        )


def test_the_service_graph_is_derived_where_whole_traces_meet(collector_runs):
    """servicegraph pairs a client span with its server span, which two
    services send through two agents; only a sampler sees both."""
    kinds = {tier: {c.split("/")[0] for c in collector_runs[tier].config.get("connectors") or {}}
             for tier in ("k8s-agent", "k8s-sampler")}
    assert "servicegraph" not in kinds["k8s-agent"], "servicegraph in the agent tier pairs spans from one agent only"
    assert "servicegraph" in kinds["k8s-sampler"], "no service graph in the sampler tier"
    assert "spanmetrics" in kinds["k8s-agent"], "span metrics are derived in the agent tier, from every span"


def test_agent_rbac_covers_what_it_watches(k8s_objects, collector_runs):
    agent = _workload(k8s_objects, "k8s-agent")
    account = agent["spec"]["template"]["spec"]["serviceAccountName"]
    roles = {r["metadata"]["name"]: r for r in _of_kind(k8s_objects, "Role")}
    granted = set()
    for binding in _of_kind(k8s_objects, "RoleBinding"):
        if any(s.get("kind") == "ServiceAccount" and s["name"] == account for s in binding["subjects"]):
            role = roles.get(binding["roleRef"]["name"])
            assert role, f"RoleBinding {binding['metadata']['name']} names a Role that is not here"
            for rule in role["rules"]:
                if {"get", "list", "watch"} <= set(rule["verbs"]):
                    granted |= {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
    config = collector_runs["k8s-agent"].config
    needed = set()
    for cid, body in (config.get("processors") or {}).items():
        if cid.split("/")[0] == "k8sattributes":
            needed.add(("", "pods"))
            metadata = (body.get("extract") or {}).get("metadata") or []
            if any(m.startswith("k8s.deployment.") for m in metadata):
                needed.add(("apps", "replicasets"))
            assert (body.get("filter") or {}).get("namespace"), (
                "k8sattributes without filter.namespace needs cluster-wide reads; a Role covers one namespace"
            )
    for cid, body in (config.get("exporters") or {}).items():
        if cid.split("/")[0] == "loadbalancing" and "k8s" in body["resolver"]:
            # exporter/loadbalancingexporter/resolver_k8s.go (0.117 to 0.129):
            # a core/v1 Endpoints informer.
            needed.add(("", "endpoints"))
    assert needed, "the agent reads no API; then it needs no Role either"
    assert needed <= granted, f"the agent's Role lacks get/list/watch on {sorted(needed - granted)}"


def _allowed(policies, direction, pod_labels, port, peer_labels=None, peer_namespace=None):
    """Whether some NetworkPolicy selecting the pod admits the peer on the
    port in the direction: a pod of this namespace (peer_labels), or any pod
    of another namespace (peer_namespace), or anything (both None)."""
    for policy in policies:
        spec = policy["spec"]
        if direction.capitalize() not in spec.get("policyTypes", []):
            continue
        if not _selects(spec.get("podSelector", {}), pod_labels):
            continue
        for rule in spec.get(direction, []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            if rule.get("ports") and port not in ports:
                continue
            peers = rule.get("to" if direction == "egress" else "from")
            if not peers:
                return True
            for peer in peers:
                namespace = peer.get("namespaceSelector")
                if peer_namespace is not None and namespace is not None and _selects(
                        namespace, {"kubernetes.io/metadata.name": peer_namespace}):
                    return True
                if (peer_labels is not None and namespace is None and "ipBlock" not in peer
                        and _selects(peer.get("podSelector", {}), peer_labels)):
                    return True
    return False


def test_network_policies_allow_the_telemetry_path(k8s_objects, collector_runs):
    policies = _of_kind(k8s_objects, "NetworkPolicy")
    agent = _pod_labels(_workload(k8s_objects, "k8s-agent"))
    sampler = _pod_labels(_workload(k8s_objects, "k8s-sampler"))
    sampler_port = _port(collector_runs["k8s-sampler"].config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"])
    assert _allowed(policies, "egress", agent, sampler_port, peer_labels=sampler), "agent -> sampler egress"
    assert _allowed(policies, "ingress", sampler, sampler_port, peer_labels=agent), "sampler <- agent ingress"
    # The backends live in the monitoring namespace (see network-policies.yaml).
    tempo_port = _port(collector_runs["k8s-sampler"].env["TEMPO_OTLP_ENDPOINT"])
    assert _allowed(policies, "egress", sampler, tempo_port, peer_namespace="monitoring"), "sampler -> Tempo egress"
    loki_port = _port(collector_runs["k8s-agent"].env["LOKI_OTLP_ENDPOINT"].split("/otlp")[0])
    assert _allowed(policies, "egress", agent, loki_port, peer_namespace="monitoring"), "agent -> Loki egress"
    assert _allowed(policies, "egress", agent, 443) or _allowed(policies, "egress", agent, 6443), (
        "agent -> Kubernetes API egress (k8sattributes, the k8s resolver)"
    )
    assert not _allowed(policies, "ingress", sampler, sampler_port,
                        peer_labels={"app.kubernetes.io/name": "marketplace"}), (
        "services must reach the samplers only through the agents"
    )
    for tier in ("k8s-agent", "k8s-sampler"):
        labels = _pod_labels(_workload(k8s_objects, tier))
        config = collector_runs[tier].config
        ports = {config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"]}
        ports |= {_port(body["endpoint"]) for cid, body in config["exporters"].items() if cid.split("/")[0] == "prometheus"}
        for port in ports:
            assert _allowed(policies, "ingress", labels, port, peer_namespace="monitoring"), (
                f"Prometheus in monitoring may not scrape {tier} on {port}"
            )


@pytest.mark.parametrize("tier", ["k8s-agent", "k8s-sampler"])
def test_probes_and_ports_match_the_config(k8s_objects, collector_runs, tier):
    container = _container(_workload(k8s_objects, tier))
    config = collector_runs[tier].config
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    health = config["extensions"]["health_check"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert ports.get(get["port"], get["port"]) == _port(health["endpoint"]), f"{tier} {probe}: not the health_check port"
        assert get["path"] == health.get("path", "/"), f"{tier} {probe}: not the health_check path"
    wanted = {_port(p["endpoint"]) for p in config["receivers"]["otlp"]["protocols"].values()}
    wanted |= {_port(body["endpoint"]) for cid, body in config["exporters"].items() if cid.split("/")[0] == "prometheus"}
    wanted.add(config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["port"])
    assert wanted <= set(ports.values()), f"{tier}: the config listens on {sorted(wanted)}, the pod declares {sorted(ports.values())}"


def test_agent_autoscales_and_both_tiers_survive_a_drain(k8s_objects):
    agent = _workload(k8s_objects, "k8s-agent")
    hpas = [h for h in _of_kind(k8s_objects, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": agent["metadata"]["name"]}]
    assert hpas, "no HPA scales the agent tier"
    assert hpas[0]["spec"]["minReplicas"] >= 2
    for tier in ("k8s-agent", "k8s-sampler"):
        workload = _workload(k8s_objects, tier)
        budgets = [p for p in _of_kind(k8s_objects, "PodDisruptionBudget")
                   if _selects(p["spec"]["selector"], _pod_labels(workload))]
        assert budgets, f"{tier}: no PodDisruptionBudget"
        assert workload["spec"]["replicas"] >= 2, f"{tier}: one replica is one node drain from losing the tier"


# ---------------------------------------------------------------- dashboards


def _collector_metric_names():
    """(where, name) for every otelcol_* and traces_* name in a dashboard
    query or in the Tempo data source's trace-to-metrics queries."""
    pattern = re.compile(r"\b((?:otelcol|traces)_[a-z0-9_]+)")
    keys = ("expr", "query", "definition")
    queries = []
    for path in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")):
        queries += strings_under(json.loads(path.read_text()), keys, path.name)
    datasources = ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml"
    queries += strings_under(yaml.safe_load(datasources.read_text()), keys, "datasources.yaml")
    found = [(where, name) for where, query in queries for name in pattern.findall(query)]
    return found


def test_dashboards_use_metric_names_the_collector_exports():
    names = _collector_metric_names()
    assert len({n for _, n in names}) >= 15, "fewer collector metrics on the dashboards than expected"
    known = COLLECTOR_METRICS | TRACE_DERIVED_METRICS
    unknown = sorted({(where, name) for where, name in names if name not in known})
    assert not unknown, f"metric names the pinned collector does not export (see deploy/checks/collector_metrics.py): {unknown}"


def test_the_sampler_dashboard_shows_decisions_by_policy():
    dashboards = [json.loads(p.read_text()) for p in (ROOT / "deploy/grafana/dashboards").glob("*.json")]
    queries = [t.get("expr", "") for d in dashboards for p in d.get("panels", []) for t in p.get("targets", [])]
    by_policy = [q for q in queries if "count_traces_sampled_total" in q and re.search(r"by \(policy\)", q)]
    assert any('sampled="true"' in q for q in by_policy), "no panel of traces kept, by policy"
    assert any('sampled="false"' in q for q in by_policy), "no panel of traces dropped, by policy"
    for metric in ("otelcol_exporter_queue_size", "otelcol_receiver_refused_spans_total", "otelcol_processor_refused_spans_total"):
        assert any(metric in q for q in queries), f"no panel on {metric} (the tiers' health)"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))

