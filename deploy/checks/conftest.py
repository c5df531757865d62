"""Shared fixtures for the deploy checks: where the repository is, and its
deploy files parsed once per session.

DEPLOY_ROOT points the checks at another copy of the repository, which is how
each check was shown to fail: copy the tree, break one thing, run pytest."""

import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(os.environ.get("DEPLOY_ROOT", Path(__file__).resolve().parents[2])).resolve()


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


@pytest.fixture(scope="session")
def collector():
    return yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text())


def _kustomize(env_var, directory):
    """The kustomize output of `directory`, from `env_var`'s file if
    validate.sh already rendered it, else rendered here."""
    rendered = os.environ.get(env_var)
    if rendered:
        text = Path(rendered).read_text()
    else:
        kubectl = os.environ.get("KUBECTL", "kubectl")
        text = subprocess.run(
            [kubectl, "kustomize", str(ROOT / directory)],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def k8s_objects():
    return _kustomize("K8S_RENDERED", "deploy/k8s")


@pytest.fixture(scope="session")
def k8s_mtls_objects():
    return _kustomize("K8S_MTLS_RENDERED", "deploy/k8s/overlays/mtls")


# The collector configs, one per place a collector runs: the compose one, and
# the two Kubernetes tiers as the rendered manifests mount them (the
# ConfigMap named by the workload's config volume, so a wrong file or a wrong
# volume is caught too).
COLLECTOR_CONFIGS = ("compose", "k8s-agent", "k8s-sampler")
K8S_TIERS = {"k8s-agent": ("Deployment", "otel-collector"), "k8s-sampler": ("StatefulSet", "otel-sampler")}


class CollectorRun:
    """One collector config and where it runs: `config` (the parsed YAML),
    `env` (the container's environment, as far as the files set it) and
    `memory_limit_mib` (the container's memory limit)."""

    def __init__(self, name, config, env, memory_limit_mib, workload=None):
        self.name = name
        self.config = config
        self.env = env
        self.memory_limit_mib = memory_limit_mib
        self.workload = workload


def _mebibytes(quantity):
    """A Kubernetes or compose memory quantity in MiB."""
    text = str(quantity).strip()
    for suffix, factor in (("Gi", 1024), ("Mi", 1), ("G", 1000**3 / 2**20), ("M", 1000**2 / 2**20)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**20


@pytest.fixture(scope="session")
def collector_runs(compose, k8s_objects):
    runs = {}
    service = compose["services"]["otel-collector"]
    env = service.get("environment") or {}
    runs["compose"] = CollectorRun(
        "compose",
        yaml.safe_load((ROOT / "deploy/otel-collector/config.yaml").read_text()),
        {k: str(v) for k, v in env.items()},
        _mebibytes(service["deploy"]["resources"]["limits"]["memory"]),
    )
    for name, (kind, workload_name) in K8S_TIERS.items():
        workload = next(o for o in k8s_objects if o["kind"] == kind and o["metadata"]["name"] == workload_name)
        pod = workload["spec"]["template"]["spec"]
        container = pod["containers"][0]
        volume = next(v for v in pod["volumes"] if "configMap" in v)
        configmap = next(o for o in k8s_objects
                         if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"])
        runs[name] = CollectorRun(
            name,
            yaml.safe_load(configmap["data"]["config.yaml"]),
            {e["name"]: e.get("value") for e in container.get("env", [])},
            _mebibytes(container["resources"]["limits"]["memory"]),
            workload,
        )
    return runs
