"""Fixtures: generate the tutorial's client from the unchanged proto, and run
the built Rust `recommendations` binary on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "protobufs"


@pytest.fixture(scope="session")
def tutorial_stubs(tmp_path_factory):
    """Compiles protobufs/recommendations.proto exactly as the tutorial does:
    `python -m grpc_tools.protoc -I ../protobufs --python_out=. --grpc_python_out=. recommendations.proto`."""
    out = tmp_path_factory.mktemp("stubs")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}",
         f"--python_out={out}", f"--grpc_python_out={out}", "recommendations.proto"],
        check=True,
    )
    sys.path.insert(0, str(out))
    import recommendations_pb2
    import recommendations_pb2_grpc
    return recommendations_pb2, recommendations_pb2_grpc


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_address():
    binary = os.environ.get("RECOMMENDATIONS_BIN", str(ROOT / "target" / "debug" / "recommendations"))
    port = _free_port()
    env = dict(os.environ, GRPC_ADDR=f"127.0.0.1:{port}", ADMIN_ADDR="127.0.0.1:0", SHUTDOWN_DELAY="0s")
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        with grpc.insecure_channel(address) as channel:
            grpc.channel_ready_future(channel).result(timeout=15)
        yield address
    finally:
        process.terminate()
        assert process.wait(timeout=15) == 0


@pytest.fixture
def client(tutorial_stubs, server_address):
    _, pb2_grpc = tutorial_stubs
    with grpc.insecure_channel(server_address) as channel:
        yield pb2_grpc.RecommendationsStub(channel)
