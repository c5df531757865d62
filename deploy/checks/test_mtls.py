"""Cross-file checks of the mutual TLS overlays (docker-compose.mtls.yaml and
deploy/k8s/overlays/mtls): every app service has its own identity, mounted
alone; every server's TLS_ALLOWED_CLIENTS is exactly the services that call
it (the same flows its NetworkPolicies allow); every caller presents its
certificate and checks the server's; cert-manager issues each Secret with the
names the services are reached by; and the documented path without
cert-manager renders too."""

import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT
import test_cross_files as cross
from test_cross_files import _of_kind, _pod_env, _selects, compose_env

NAMESPACE = "books"
SPIFFE = "spiffe://online-books/{}"


def _identity_names(service):
    return {service, f"{service}.{NAMESPACE}", f"{service}.{NAMESPACE}.svc", f"{service}.{NAMESPACE}.svc.cluster.local"}


def _url_var(service):
    return f"{service.replace('-', '_').upper()}_URL"


def _allowed(env):
    return sorted(n.strip() for n in env.get("TLS_ALLOWED_CLIENTS", "").split(",") if n.strip())


# ---------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose_mtls():
    return yaml.safe_load((ROOT / "docker-compose.mtls.yaml").read_text())


def _app_services(compose):
    """Services built from the Dockerfile (`build:`, written out or merged)."""
    def built(service):
        merged = service.get("<<", [])
        merged = merged if isinstance(merged, list) else [merged]
        return "build" in service or any(built(m) for m in merged)
    return [name for name, service in compose["services"].items() if built(service)]


def _overlay_env(compose, overlay, name):
    env = compose_env(compose["services"][name])
    env.update(compose_env(overlay["services"].get(name) or {}))
    return env


def test_compose_every_app_service_has_its_own_identity_and_no_other(compose, compose_mtls):
    apps = _app_services(compose)
    assert {"recommendations", "marketplace"} <= set(apps)
    for name in apps:
        service = compose_mtls["services"].get(name)
        assert service, f"{name} is not in docker-compose.mtls.yaml"
        mounts = {v["target"]: v for v in service.get("volumes", []) if isinstance(v, dict)}
        expected = {"/certs/ca.crt", f"/certs/{name}.crt", f"/certs/{name}.key"}
        assert set(mounts) == expected, f"{name} mounts {sorted(mounts)}, not exactly its own identity"
        for target, mount in mounts.items():
            assert mount["source"] == "./certs/" + target.rsplit("/", 1)[1], f"{name}: {mount}"
            assert mount.get("read_only") is True, f"{name}: {target} is not read-only"
            assert mount.get("bind", {}).get("create_host_path") is False, (
                f"{name}: {target} would become a directory if certs/ were missing"
            )


def test_compose_servers_allow_exactly_their_callers_who_present_certificates(compose, compose_mtls):
    apps = _app_services(compose)
    env = {name: _overlay_env(compose, compose_mtls, name) for name in apps}
    servers = [name for name in apps if "TLS_CLIENT_CA" in env[name]]
    assert "recommendations" in servers
    for server in servers:
        assert env[server]["TLS_CERT"] == f"/certs/{server}.crt"
        assert env[server]["TLS_KEY"] == f"/certs/{server}.key"
        assert env[server]["TLS_CLIENT_CA"] == "/certs/ca.crt"
        callers = sorted(name for name in apps if _url_var(server) in env[name])
        assert _allowed(env[server]) == callers, f"{server}: TLS_ALLOWED_CLIENTS is not its callers {callers}"
        for caller in callers:
            prefix = _url_var(server)[: -len("URL")]
            assert env[caller][_url_var(server)].startswith(f"https://{server}:"), f"{caller} calls {server} in plaintext"
            assert env[caller][prefix + "CA"] == "/certs/ca.crt"
            assert env[caller]["TLS_CLIENT_CERT"] == f"/certs/{caller}.crt"
            assert env[caller]["TLS_CLIENT_KEY"] == f"/certs/{caller}.key"


# ---------------------------------------------------------------- Kubernetes


def _app_deployments(objects):
    """The Deployments of the services: those running the app image."""
    return {
        d["metadata"]["name"]: d
        for d in _of_kind(objects, "Deployment")
        if d["spec"]["template"]["spec"]["containers"][0]["image"].startswith("ghcr.io/example/online-books")
    }


def test_k8s_mtls_overlay_keeps_the_base_production_ready(k8s_mtls_objects):
    cross.test_k8s_deployments_are_production_ready(k8s_mtls_objects)
    cross.test_k8s_grace_period_covers_the_drain(k8s_mtls_objects)


def test_k8s_every_service_mounts_its_own_secret_readable_by_its_user(k8s_mtls_objects):
    deployments = _app_deployments(k8s_mtls_objects)
    assert {"recommendations", "marketplace"} <= set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        assert volumes.get("tls", {}).get("secret", {}).get("secretName") == f"{name}-tls", f"{name}: no {name}-tls volume"
        mounts = {m["name"]: m for m in pod["containers"][0].get("volumeMounts", [])}
        assert mounts["tls"]["mountPath"] == "/etc/tls" and mounts["tls"].get("readOnly") is True
        # Secret files are root's; without fsGroup, mode 0440 hides them from the service.
        assert pod["securityContext"].get("fsGroup") == pod["securityContext"]["runAsGroup"], f"{name}: no fsGroup"
    # No certificate material in any manifest.
    assert not _of_kind(k8s_mtls_objects, "Secret")


def test_k8s_servers_allow_exactly_their_callers_and_probe_over_http(k8s_mtls_objects):
    deployments = _app_deployments(k8s_mtls_objects)
    containers = {name: d["spec"]["template"]["spec"]["containers"][0] for name, d in deployments.items()}
    env = {name: _pod_env(k8s_mtls_objects, c) for name, c in containers.items()}
    policies = _of_kind(k8s_mtls_objects, "NetworkPolicy")
    labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in deployments.items()}

    def policy_admits(server, caller):
        return any(
            "Ingress" in p["spec"].get("policyTypes", []) and _selects(p["spec"]["podSelector"], labels[server])
            and any(
                _selects(peer.get("podSelector", {}), labels[caller])
                for rule in p["spec"].get("ingress", []) for peer in rule.get("from", [])
                if "podSelector" in peer and "namespaceSelector" not in peer
            )
            for p in policies
        )

    servers = [name for name in deployments if "TLS_CLIENT_CA" in env[name]]
    assert "recommendations" in servers
    for server in servers:
        for var, file in (("TLS_CERT", "tls.crt"), ("TLS_KEY", "tls.key"), ("TLS_CLIENT_CA", "ca.crt")):
            assert env[server][var] == f"/etc/tls/{file}", f"{server} {var}: {env[server].get(var)}"
        callers = sorted(name for name in deployments if _url_var(server) in env[name])
        assert _allowed(env[server]) == callers, f"{server}: TLS_ALLOWED_CLIENTS is not its callers {callers}"
        for caller in callers:
            assert policy_admits(server, caller), f"no NetworkPolicy lets {caller} reach {server}"
            prefix = _url_var(server)[: -len("URL")]
            assert env[caller][_url_var(server)].startswith(f"https://{server}.{NAMESPACE}.svc"), env[caller][_url_var(server)]
            assert env[caller][prefix + "CA"] == "/etc/tls/ca.crt"
            assert (env[caller]["TLS_CLIENT_CERT"], env[caller]["TLS_CLIENT_KEY"]) == ("/etc/tls/tls.crt", "/etc/tls/tls.key")
        # kubelet's gRPC probe cannot do TLS: with TLS on, probes must be HTTP.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert "grpc" not in containers[server][probe], f"{server} {probe} still uses the gRPC probe"
            assert containers[server][probe]["httpGet"]["port"] == "admin"


def test_k8s_cert_manager_issues_every_service_its_identity_from_a_ca(k8s_mtls_objects):
    certificates = {c["spec"]["secretName"]: c for c in _of_kind(k8s_mtls_objects, "Certificate")}
    issuers = {i["metadata"]["name"]: i for i in _of_kind(k8s_mtls_objects, "Issuer")}
    for name in _app_deployments(k8s_mtls_objects):
        certificate = certificates.get(f"{name}-tls")
        assert certificate, f"no Certificate makes the Secret {name}-tls"
        spec = certificate["spec"]
        assert set(spec["dnsNames"]) == _identity_names(name), f"{name}: {spec['dnsNames']}"
        assert spec["uris"] == [SPIFFE.format(name)]
        assert {"server auth", "client auth"} <= set(spec["usages"])
        issuer = issuers.get(spec["issuerRef"]["name"])
        assert issuer and "ca" in issuer["spec"], f"{name}: not issued by a CA Issuer"
        ca = certificates.get(issuer["spec"]["ca"]["secretName"])
        assert ca and ca["spec"].get("isCA") is True, f"{name}: its Issuer's CA is not made here"


def test_k8s_mtls_overlay_renders_without_cert_manager_for_secrets_brought_from_elsewhere(tmp_path):
    """The documented path: delete the `components:` entry, bring the Secrets."""
    overlay = tmp_path / "deploy/k8s/overlays/mtls"
    shutil.copytree(ROOT / "deploy/k8s", tmp_path / "deploy/k8s")
    kustomization = overlay / "kustomization.yaml"
    text = kustomization.read_text()
    assert "components:\n  - certificates\n" in text, "the documented line to delete is not there"
    kustomization.write_text(text.replace("components:\n  - certificates\n", ""))
    rendered = subprocess.run(
        [os.environ.get("KUBECTL", "kubectl"), "kustomize", str(overlay)],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    objects = [doc for doc in yaml.safe_load_all(rendered) if doc]
    assert not [o for o in objects if o["apiVersion"].startswith("cert-manager.io/")]
    for name, deployment in _app_deployments(objects).items():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"].get("volumes", [])}
        assert volumes["tls"]["secret"]["secretName"] == f"{name}-tls"
