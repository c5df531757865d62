"""Cross-file checks for the deploy stack: the things no single validator sees.

Schema validators prove each file is well formed on its own. These tests prove
the files agree with each other: compose mounts files that exist, the
collector sends to services compose runs (its configs have their own checks,
test_collector_configs.py and test_collector_tiers.py),
dashboards use data sources Grafana provisions, and the Kubernetes manifests
keep the production rules (probes, limits, restricted pods, drain timing,
headless Service, PDBs, NetworkPolicies)."""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conftest import ROOT
from queries import strings_under

APP_SERVICES = ("recommendations", "marketplace")

# A duration as the services and compose write it: "5s", "1m30s", "250ms".
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def seconds(text):
    text = str(text).strip()
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def env_default(value):
    """`${env:NAME:-default}` as the collector resolves it with NAME unset."""
    match = re.fullmatch(r"\$\{env:[A-Za-z_][A-Za-z0-9_]*:-(.*)\}", str(value))
    return match.group(1) if match else str(value)


def compose_env(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def bind_mounts(service):
    """(host path, container path, read_only) for each bind mount."""
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            parts = volume.split(":")
            if parts[0].startswith((".", "/")):
                yield parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")
        elif volume.get("type") == "bind":
            yield volume["source"], volume["target"], bool(volume.get("read_only"))


# ---------------------------------------------------------------- compose


def test_compose_bind_mounts_exist_and_are_read_only(compose):
    mounts = [
        (name, host, target, ro)
        for name, service in compose["services"].items()
        for host, target, ro in bind_mounts(service)
    ]
    assert mounts, "no bind mounts found: the config is expected to come from deploy/"
    for name, host, target, ro in mounts:
        assert (ROOT / host).exists(), f"{name}: bind-mounted {host} does not exist"
        assert ro, f"{name}: {host} -> {target} should be mounted read-only (:ro)"


def test_compose_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image")
        assert image, f"{name}: no image"
        if "build" in service:
            continue  # Built here from the Dockerfile.
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest" or "@sha256:" in image, f"{name}: image {image} is not pinned"


def test_compose_app_services_have_healthchecks_and_drain_time(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD", f"{name}: needs an exec-form healthcheck (distroless has no shell)"
        env = compose_env(service)
        drain = seconds(env["SHUTDOWN_DELAY"]) + seconds(env["SHUTDOWN_TIMEOUT"])
        grace = seconds(service.get("stop_grace_period", "10s"))
        assert grace >= drain, (
            f"{name}: stop_grace_period {grace}s < SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT {drain}s; "
            "Docker would SIGKILL mid-drain"
        )


def test_compose_depends_on_names_services(compose):
    services = compose["services"]
    for name, service in services.items():
        deps = service.get("depends_on") or {}
        for dep, spec in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            assert dep in services, f"{name} depends on unknown service {dep}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy, but {dep} has no healthcheck"


def test_marketplace_targets_the_recommendations_service(compose):
    url = urlsplit(compose_env(compose["services"]["marketplace"])["RECOMMENDATIONS_URL"])
    assert url.hostname == "recommendations"
    assert url.port == int(compose_env(compose["services"]["recommendations"])["GRPC_ADDR"].rsplit(":", 1)[1])


# ---------------------------------------------------------------- collector
# The collector configs' own checks (pipelines, keys, sampling) are in
# test_collector_configs.py and test_collector_tiers.py.


def test_collector_exporter_endpoints_name_compose_services(collector, compose):
    services = set(compose["services"])
    checked = 0
    for name, exporter in (collector.get("exporters") or {}).items():
        endpoint = env_default((exporter or {}).get("endpoint", ""))
        if not endpoint:
            continue
        host = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname
        if host == "0.0.0.0":
            continue  # A listening exporter (prometheus), not a destination.
        assert host in services, f"exporter {name} sends to {host}, which is not a compose service"
        checked += 1
    assert checked, "no exporter destinations found"


def test_services_export_otlp_to_the_collectors_grpc_receiver(collector, compose, k8s_objects):
    receiver_port = int(collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1])
    collector_services = {
        name for name, s in compose["services"].items() if "opentelemetry-collector" in s.get("image", "")
    }
    for name in APP_SERVICES:
        url = urlsplit(compose_env(compose["services"][name])["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert url.hostname in collector_services and url.port == receiver_port, (
            f"compose {name} exports to {url.netloc}; the collector listens on <collector>:{receiver_port}"
        )
    k8s_services = {s["metadata"]["name"]: s for s in _of_kind(k8s_objects, "Service")}
    for deployment in _of_kind(k8s_objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            endpoint = _pod_env(k8s_objects, container).get("OTEL_EXPORTER_OTLP_ENDPOINT")
            if not endpoint:
                continue
            url = urlsplit(endpoint)
            service = k8s_services.get(url.hostname.split(".")[0])
            assert service, f"k8s {deployment['metadata']['name']} exports to {url.hostname}: no such Service"
            assert url.port in {p["port"] for p in service["spec"]["ports"]}, f"{url.netloc}: port not on the Service"


# ---------------------------------------------------------------- prometheus


def test_prometheus_scrapes_every_app_by_job_name(compose):
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in (*APP_SERVICES, "otel-collector"):
        assert name in jobs, f"no scrape job named {name}: dashboards and SLO rules select on job"
    for job in jobs.values():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host = target.rsplit(":", 1)[0]
                assert host in compose["services"], f"job {job['job_name']} scrapes {target}: no such compose service"
    for name in APP_SERVICES:
        admin_port = compose_env(compose["services"][name])["ADMIN_ADDR"].rsplit(":", 1)[1]
        targets = [t for s in jobs[name]["static_configs"] for t in s["targets"]]
        assert targets == [f"{name}:{admin_port}"], f"job {name} should scrape the admin port {admin_port}"
    for rule_file in config.get("rule_files", []):
        assert (ROOT / "deploy/prometheus" / rule_file).exists(), f"rule file {rule_file} is missing"


# ---------------------------------------------------------------- grafana


def _provisioned_datasources():
    path = ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml"
    return yaml.safe_load(path.read_text())["datasources"]


def _datasource_refs(node, where="$"):
    """Every {"datasource": {"uid": ...}} in a dashboard, with a JSON path."""
    if isinstance(node, dict):
        ds = node.get("datasource")
        if isinstance(ds, dict) and "uid" in ds:
            yield where, ds["uid"]
        for key, value in node.items():
            yield from _datasource_refs(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _datasource_refs(value, f"{where}[{i}]")


def _dashboards():
    return sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))


def _promql_expressions():
    """Every PromQL expression in the dashboards (panel targets and template
    variable queries) and in the rule files, with where it is."""
    found = []
    for path in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")):
        found += strings_under(json.loads(path.read_text()), ("expr", "query"), path.name)
    for path in sorted((ROOT / "deploy/prometheus/rules").glob("*.yml")):
        if not path.name.endswith("_test.yml"):
            found += strings_under(yaml.safe_load(path.read_text()), ("expr", "query"), path.name)
    return found


def test_dashboards_and_slo_rules_find_services_by_job_so_new_ones_need_no_edit():
    """`cargo xtask new-service` adds a scrape job and touches no dashboard or
    rule: that works because every query selects services through `job`
    (a variable filled by label_values, or `by (job)`), never by a name."""
    expressions = _promql_expressions()
    assert len(expressions) > 20, expressions
    literal_job = re.compile(r'job\s*=~?\s*"(?!\$)')
    for where, expr in expressions:
        assert not literal_job.search(expr), f"{where}: selects a job by name: {expr}"
    for path in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")):
        variables = json.loads(path.read_text()).get("templating", {}).get("list", [])
        for variable in variables:
            if variable.get("name") == "job":
                query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
                assert query.startswith("label_values(") and query.endswith(", job)"), f"{path.name}: $job is {query}"


def test_dashboards_use_provisioned_datasource_uids():
    uids = {ds["uid"] for ds in _provisioned_datasources()}
    builtin = {"-- Grafana --", "grafana"}
    dashboards = _dashboards()
    assert dashboards, "no dashboards"
    for path in dashboards:
        refs = list(_datasource_refs(json.loads(path.read_text())))
        assert refs, f"{path.name}: no datasource references at all"
        for where, uid in refs:
            assert uid in uids | builtin, f"{path.name} {where}: datasource uid {uid!r} is not provisioned"


def test_dashboards_have_unique_uids_and_titles():
    seen = {}
    for path in _dashboards():
        dashboard = json.loads(path.read_text())
        assert dashboard.get("uid"), f"{path.name}: set a uid so links survive re-provisioning"
        assert dashboard["uid"] not in seen, f"{path.name} and {seen[dashboard['uid']]} share uid {dashboard['uid']}"
        seen[dashboard["uid"]] = path.name


def test_datasource_cross_links_point_at_provisioned_uids():
    datasources = _provisioned_datasources()
    uids = {ds["uid"] for ds in datasources}

    def linked(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasourceUid":
                    yield value
                else:
                    yield from linked(value)
        elif isinstance(node, list):
            for value in node:
                yield from linked(value)

    links = [(ds["uid"], uid) for ds in datasources for uid in linked(ds.get("jsonData", {}))]
    assert links, "the data sources are not cross-linked"
    for source, target in links:
        assert target in uids, f"data source {source} links to unknown uid {target}"


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboards(compose):
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/dashboards.yaml").read_text())
    paths = {p["options"]["path"] for p in provider["providers"]}
    mounts = {
        target: (ROOT / host).resolve()
        for host, target, _ in bind_mounts(compose["services"]["grafana"])
    }
    for path in paths:
        assert mounts.get(path) == (ROOT / "deploy/grafana/dashboards").resolve(), (
            f"the dashboard provider reads {path}, but compose does not mount deploy/grafana/dashboards there"
        )


# ---------------------------------------------------------------- kubernetes


# Workloads that are deliberately single-replica, and why. None today: the
# collector's two tiers both run replicated (test_collector_tiers.py).
SINGLETONS = set()

WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def _workloads(objects):
    return [o for o in objects if o.get("kind") in WORKLOAD_KINDS]


def _service_accounts_with_api_access(objects):
    """Service accounts a RoleBinding or ClusterRoleBinding grants something:
    only their pods may mount an API token."""
    return {
        subject["name"]
        for binding in objects if binding.get("kind") in ("RoleBinding", "ClusterRoleBinding")
        for subject in binding.get("subjects", []) if subject.get("kind") == "ServiceAccount"
    }


def _of_kind(objects, kind):
    return [o for o in objects if o.get("kind") == kind]


def _pod_env(objects, container):
    """A container's environment as Kubernetes assembles it: envFrom
    ConfigMaps first, then env entries."""
    configmaps = {o["metadata"]["name"]: o.get("data", {}) for o in _of_kind(objects, "ConfigMap")}
    env = {}
    for source in container.get("envFrom", []):
        name = source["configMapRef"]["name"]
        assert name in configmaps, f"{container['name']}: envFrom ConfigMap {name} is not in the manifests"
        env.update(configmaps[name])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
    return env


def test_k8s_deployments_are_production_ready(k8s_objects):
    deployments = _workloads(k8s_objects)
    assert {d["metadata"]["name"] for d in deployments} >= set(APP_SERVICES)
    with_api_access = _service_accounts_with_api_access(k8s_objects)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        if name not in SINGLETONS:
            assert spec.get("replicas", 1) >= 2, f"{name}: replicas must be >= 2"
        # A token only where a binding says what it is for.
        expected_token = pod.get("serviceAccountName") in with_api_access
        assert pod.get("automountServiceAccountToken") is expected_token, (
            f"{name}: automountServiceAccountToken: {str(expected_token).lower()}"
            + (" (its service account is bound to a Role)" if expected_token else " (it calls no API)")
        )
        pod_sc = pod.get("securityContext", {})
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{where}: no {probe}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resource in resources.get(kind, {}), f"{where}: no {resource} {kind}"
            sc = container.get("securityContext", {})

            def effective(key):
                return sc.get(key, pod_sc.get(key))

            assert effective("runAsNonRoot") is True, f"{where}: runAsNonRoot"
            assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation: false"
            assert sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem: true"
            assert "ALL" in sc.get("capabilities", {}).get("drop", []), f"{where}: capabilities.drop: [ALL]"
            assert (effective("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{where}: seccompProfile RuntimeDefault"
            if name in APP_SERVICES:
                assert effective("runAsUser") == 65532, f"{where}: runAsUser 65532 (distroless nonroot)"


def test_k8s_grace_period_covers_the_drain(k8s_objects):
    for deployment in _of_kind(k8s_objects, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            env = _pod_env(k8s_objects, container)
            if name in APP_SERVICES:
                assert "SHUTDOWN_DELAY" in env and "SHUTDOWN_TIMEOUT" in env, (
                    f"{name}: set SHUTDOWN_DELAY and SHUTDOWN_TIMEOUT explicitly"
                )
            if "SHUTDOWN_DELAY" not in env:
                continue
            drain = seconds(env["SHUTDOWN_DELAY"]) + seconds(env["SHUTDOWN_TIMEOUT"])
            grace = pod.get("terminationGracePeriodSeconds", 30)
            assert grace > drain, (
                f"{name}: terminationGracePeriodSeconds {grace} must exceed "
                f"SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT = {drain}s, or the kubelet kills mid-drain"
            )


def test_k8s_recommendations_service_is_headless_and_targeted_by_dns(k8s_objects):
    services = {s["metadata"]["name"]: s for s in _of_kind(k8s_objects, "Service")}
    recommendations = services["recommendations"]
    assert recommendations["spec"].get("clusterIP") == "None", (
        "recommendations must be headless: the marketplace balances over pod IPs itself"
    )
    marketplace = next(d for d in _of_kind(k8s_objects, "Deployment") if d["metadata"]["name"] == "marketplace")
    env = _pod_env(k8s_objects, marketplace["spec"]["template"]["spec"]["containers"][0])
    url = urlsplit(env["RECOMMENDATIONS_URL"])
    namespace = recommendations["metadata"].get("namespace", "default")
    assert url.hostname in ("recommendations", f"recommendations.{namespace}", f"recommendations.{namespace}.svc",
                            f"recommendations.{namespace}.svc.cluster.local"), url.hostname
    assert url.port in {p["port"] for p in recommendations["spec"]["ports"]}


def _selects(selector, labels):
    """Kubernetes label-selector semantics; an empty selector selects all."""
    if not all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def test_k8s_every_replicated_deployment_has_a_pdb(k8s_objects):
    pdbs = _of_kind(k8s_objects, "PodDisruptionBudget")
    assert pdbs, "no PodDisruptionBudget"
    for deployment in _workloads(k8s_objects):
        if deployment["spec"].get("replicas", 1) < 2:
            continue
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(_selects(p["spec"]["selector"], labels) for p in pdbs), (
            f"{deployment['metadata']['name']}: no PodDisruptionBudget selects its pods"
        )


def test_k8s_network_policies_default_deny_and_allow_the_call_path(k8s_objects):
    policies = _of_kind(k8s_objects, "NetworkPolicy")
    assert policies, "no NetworkPolicy"
    assert any(
        p["spec"].get("podSelector") == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress") and not p["spec"].get("egress")
        for p in policies
    ), "no default-deny policy (podSelector {}, Ingress and Egress, no rules)"

    def allows(direction, pod, peer, port):
        """Whether some policy selecting `pod` admits `peer` (a pod in the
        same namespace) on `port` in `direction`."""
        for policy in policies:
            spec = policy["spec"]
            if direction.capitalize() not in spec.get("policyTypes", []):
                continue
            if not _selects(spec.get("podSelector", {}), pod):
                continue
            for rule in spec.get(direction, []):
                peers = rule.get("to" if direction == "egress" else "from", [])
                ports = {x.get("port") for x in rule.get("ports", [])}
                same_namespace_peer = any(
                    "namespaceSelector" not in x and "ipBlock" not in x and _selects(x.get("podSelector", {}), peer)
                    for x in peers
                )
                if port in ports and same_namespace_peer:
                    return True
        return False

    marketplace = {"app.kubernetes.io/name": "marketplace"}
    recommendations = {"app.kubernetes.io/name": "recommendations"}
    assert allows("egress", marketplace, recommendations, 50051), "marketplace may not call recommendations:50051"
    assert allows("ingress", recommendations, marketplace, 50051), "recommendations does not admit marketplace on 50051"
    collector = {"app.kubernetes.io/name": "otel-collector"}
    for app in (marketplace, recommendations):
        name = app["app.kubernetes.io/name"]
        assert allows("egress", app, collector, 4317), f"{name} may not export to otel-collector:4317"
        assert allows("ingress", collector, app, 4317), f"otel-collector does not admit {name} on 4317"
    assert any(
        rule.get("ports") and any(x.get("port") == 53 for x in rule["ports"])
        for p in policies if p["spec"].get("podSelector") == {}
        for rule in p["spec"].get("egress", [])
    ), "no DNS egress (port 53) for the namespace's pods"


def test_k8s_images_are_set_by_kustomize(k8s_objects):
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text())
    names = {i["name"] for i in kustomization.get("images", [])}
    for deployment in _of_kind(k8s_objects, "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            image = container["image"]
            assert ":" in image.split("/")[-1] or "@" in image, f"{image} is not pinned"
            if deployment["metadata"]["name"] in APP_SERVICES:
                assert image.rsplit(":", 1)[0] in names, f"{image}: set its tag under images: in kustomization.yaml"


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q"]))
