#!/usr/bin/env python3
"""Generated services over mutual TLS, as the mTLS overlay runs them: a step
of .ci/new-service-check, run in its scratch tree after the services are
generated and built.

    generated-mtls.py XTASK TARGET_DEBUG SERVER WEB INTRUDER

SERVER is a generated gRPC service and WEB a generated web service that
calls it; INTRUDER is an app service that SERVER's allow-list leaves out.
Certificates come from `cargo xtask certs` (the XTASK binary), and each
process gets the environment docker-compose.mtls.yaml gives its container,
with the container paths mapped back to ./certs through the overlay's own
binds, and other services' URLs pointed at the processes started here.
Then:

  - WEB's page is served through its call to SERVER, over mutual TLS with
    WEB's own identity;
  - INTRUDER's valid certificate gets PERMISSION_DENIED from SERVER, which
    logs one line naming it and counts it;
  - a client without a certificate cannot connect, and SERVER logs and
    counts the refused handshake.

The calls without WEB are made with grpcio (.venv, from .ci/run), which
needs no stubs for them: the allow-list answers before any handler reads
the request.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The refused handshake is the point of one call; grpcio need not print it.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # noqa: E402
import yaml  # noqa: E402

READY_TIMEOUT_S = 30
CERTS = Path("certs")
LOGS = Path(".tmp")


def fail(message):
    sys.exit(f"generated-mtls: FAIL: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def overlay_environment(service, urls):
    """The environment the mTLS overlay gives `service`'s container, with
    each bound file's container path replaced by its path here, and each
    `https://NAME:PORT` of a service started here by that process's address."""
    overlay = yaml.safe_load(Path("docker-compose.mtls.yaml").read_text())["services"][service]
    binds = {bind["target"]: str(Path(bind["source"]).resolve()) for bind in overlay.get("volumes", [])}
    env = {}
    for name, value in (overlay.get("environment") or {}).items():
        value = binds.get(value, value)
        match = re.fullmatch(r"https://([\w-]+):\d+", value)
        if match and match.group(1) in urls:
            value = urls[match.group(1)]
        env[name] = value
    return env


def grpc_path(service):
    """`/package.Service/Method` of the first method in `service`'s proto."""
    proto = next(Path("protobufs").glob(f"{service.replace('-', '_')}/**/*.proto"))
    text = proto.read_text()
    package = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
    name = re.search(r"^service\s+(\w+)", text, re.M).group(1)
    method = re.search(r"^\s*rpc\s+(\w+)", text, re.M).group(1)
    return f"/{package}.{name}/{method}"


def call(address, path, identity=None):
    """One call over TLS to `address`, trusting the dev CA, presenting
    `identity`'s certificate if given; the status code it ended with."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(CERTS / "ca.crt").read_bytes(),
        private_key=(CERTS / f"{identity}.key").read_bytes() if identity else None,
        certificate_chain=(CERTS / f"{identity}.crt").read_bytes() if identity else None,
    )
    # The certificates name localhost, as every `cargo xtask certs` one does.
    options = [("grpc.ssl_target_name_override", "localhost")]
    with grpc.secure_channel(address, credentials, options=options) as channel:
        try:
            channel.unary_unary(path)(b"", timeout=10)
        except grpc.RpcError as error:
            return error.code(), error.details()
    return grpc.StatusCode.OK, ""


def counter(metrics, name, reason):
    match = re.search(rf'^{name}{{[^}}]*reason="{reason}"[^}}]*}} (\d+)', metrics, re.M)
    return int(match.group(1)) if match else 0


def log_lines(path, message):
    lines = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("message") == message:
            lines.append(record)
    return lines


class Process:
    def __init__(self, name, binary, env):
        self.name, self.log = name, LOGS / f"{name}-mtls.log"
        with self.log.open("w") as log:
            self.process = subprocess.Popen([str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def main():
    xtask, target, server, web, intruder = sys.argv[1:]
    LOGS.mkdir(exist_ok=True)
    shutil.rmtree(CERTS, ignore_errors=True)
    subprocess.run([xtask, "certs"], check=True, stdout=subprocess.DEVNULL)

    grpc_addr, server_admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    http_addr, web_admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    urls = {server: f"https://localhost:{grpc_addr.rsplit(':', 1)[1]}"}
    base = {"PATH": "/usr/bin:/bin", "RUST_LOG": "info"}
    started = []
    try:
        started.append(Process(server, Path(target) / server, {
            **base, **overlay_environment(server, urls), "GRPC_ADDR": grpc_addr, "ADMIN_ADDR": server_admin,
        }))
        started.append(Process(web, Path(target) / web, {
            **base, **overlay_environment(web, urls), "HTTP_ADDR": http_addr, "ADMIN_ADDR": web_admin,
        }))
        deadline = time.monotonic() + READY_TIMEOUT_S
        for admin in (server_admin, web_admin):
            while True:
                try:
                    get(f"http://{admin}/readyz")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        fail(f"not ready at {admin}: " + " | ".join(p.log.read_text()[-500:] for p in started))
                    time.sleep(0.2)
        server_log = started[0].log
        if not any(r.get("tls") == "MutualTls" for r in log_lines(server_log, "gRPC transport security")):
            fail(f"{server} does not report mutual TLS under the overlay's settings")

        page = get(f"http://{http_addr}/")
        if f"{server}: answering" not in page:
            fail(f"{web}'s page does not have {server} answering over mutual TLS: {page}")
        print(f"{web} -> {server}: answering, over mutual TLS with {web}'s identity")

        path = grpc_path(server)
        code, details = call(grpc_addr, path, identity=intruder)
        if code != grpc.StatusCode.PERMISSION_DENIED:
            fail(f"{intruder}'s certificate got {code} ({details}), not PERMISSION_DENIED")
        # Logged and counted before the answer went out.
        refused = [
            r for r in log_lines(server_log, "call refused: the client is not in TLS_ALLOWED_CLIENTS")
            if r.get("client") == f"spiffe://online-books/{intruder}"
        ]
        if len(refused) != 1:
            fail(f"{server} logged {len(refused)} refusal lines naming {intruder}, not 1")
        metrics = get(f"http://{server_admin}/metrics")
        if counter(metrics, "tls_server_calls_refused_total", "not_allowed") != 1:
            fail(f"{server} did not count the refused call once: tls_server_calls_refused_total")
        print(f"{intruder} -> {server}: PERMISSION_DENIED ({details}), logged once and counted")

        code, details = call(grpc_addr, path)
        if code != grpc.StatusCode.UNAVAILABLE:
            fail(f"a client without a certificate got {code} ({details}), not UNAVAILABLE")
        # The client gives up at the server's alert; the server may still be
        # finishing its side, so give its count and log line a moment.
        settle = time.monotonic() + 5
        while time.monotonic() < settle and not log_lines(server_log, "TLS handshake refused"):
            time.sleep(0.1)
        metrics = get(f"http://{server_admin}/metrics")
        if counter(metrics, "tls_server_handshakes_refused_total", "certificate_required") < 1:
            fail(f"{server} did not count the handshake without a certificate")
        if not log_lines(server_log, "TLS handshake refused"):
            fail(f"{server} did not log the handshake without a certificate")
        print(f"no certificate -> {server}: cannot connect ({code.name}); the refusal logged and counted")
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(CERTS, ignore_errors=True)


if __name__ == "__main__":
    main()
