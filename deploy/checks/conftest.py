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


@pytest.fixture(scope="session")
def k8s_objects():
    """The kustomize output, from K8S_RENDERED if validate.sh already rendered
    it, else rendered here."""
    rendered = os.environ.get("K8S_RENDERED")
    if rendered:
        text = Path(rendered).read_text()
    else:
        kubectl = os.environ.get("KUBECTL", "kubectl")
        text = subprocess.run(
            [kubectl, "kustomize", str(ROOT / "deploy/k8s")],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout
    return [doc for doc in yaml.safe_load_all(text) if doc]
