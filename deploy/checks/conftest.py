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
