"""End-to-end check of the dashboards and SLO rules against the real services
and a real Prometheus, with no Docker.

It starts the two service binaries and Prometheus on loopback ports, with a
Prometheus config generated from deploy/prometheus/prometheus.yml (only the
targets, intervals and rule-file paths change; job names stay). After ~10 s of
page loads and unknown paths, with recommendations failing a share of calls on
purpose (FAULT_ERROR_RATE), it evaluates every PromQL expression in every
provisioned dashboard through the HTTP API: none may fail, and the queries on
the services' own RED metrics must return data. It also checks the SLO rules
on those real series and the compose healthcheck command. So a renamed metric or label,
in the code or in a dashboard, fails here instead of showing "No data".

Queries on the Tempo and Loki data sources (service map, logs) are skipped:
neither runs here. No collector runs either: its two Prometheus endpoints
(its own metrics, and the span metrics and service graph it derives) are
served by a stand-in with the names and labels the pinned collector exports
(collector_exposition.py), so queries on otelcol_* and traces_* metrics must
return data too.

Binaries: RECOMMENDATIONS_BIN, MARKETPLACE_BIN (default target/debug/...),
PROMETHEUS_BIN (default `prometheus` on PATH; Debian's package is enough)."""

import json
import math
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from collector_exposition import collector_exposition, trace_metrics_exposition
from conftest import ROOT

DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
PROM_CONFIG = ROOT / "deploy/prometheus/prometheus.yml"

# The services' own metrics: any dashboard query on these must return data
# after the load below. Everything else may legitimately be empty here.
REQUIRED_METRICS = (
    "rpc_server_call_duration_seconds",
    "rpc_client_call_duration_seconds",
    "http_server_request_duration_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "build_info",
)

# Grafana's built-in variables, with values that suit a 1 s scrape interval
# and a test that has a few seconds of data.
BUILTIN_VARIABLES = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "__range_s": "300",
}

PAGE_LOADS_SECONDS = 10
# The share of Recommend calls the recommendations binary fails on purpose.
# The page still renders (degraded), so the marketplace's own SLI stays at 0.
FAULT_ERROR_RATE = 0.2
DEADLINE_SECONDS = 60


def _free_ports(names):
    """A free loopback port per name, all different: every socket stays bound
    until all are chosen (ports picked one at a time can repeat, and a closed
    "unused" port that repeats a live one is scraped as that service)."""
    sockets = [socket.socket() for _ in names]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return {name: s.getsockname()[1] for name, s in zip(names, sockets)}
    finally:
        for s in sockets:
            s.close()


def _wait_until(what, check, timeout=DEADLINE_SECONDS, interval=0.25):
    """Polls `check` until it returns something truthy, within `timeout`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except requests.RequestException as error:
            last_error = error
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last error: {last_error})")


# ------------------------------------------------------------ dashboard queries


def _panels(dashboard):
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # Collapsed rows nest their panels.


def _substitute(expr, variables):
    def value(match):
        name = match.group(1) or match.group(2)
        if name in BUILTIN_VARIABLES:
            return BUILTIN_VARIABLES[name]
        if name in variables:
            return variables[name]
        raise AssertionError(f"unknown template variable ${name} in {expr!r}")

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", value, expr)


def _dashboard_queries():
    """(id, datasource uid, PromQL) for every query, with each template
    variable replaced by ".+". That is "All", except that it also requires
    the label to exist: `x=~".*"` matches series without label x, so a label
    renamed in the code would still return data and go unnoticed."""
    queries = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        variables = {v["name"]: ".+" for v in dashboard.get("templating", {}).get("list", [])}
        for v in dashboard.get("templating", {}).get("list", []):
            definition = v.get("definition") or ""
            uid = (v.get("datasource") or {}).get("uid")
            queries.append((f"{path.stem}:variable:{v['name']}", uid, _substitute(definition, variables)))
        for panel in _panels(dashboard):
            panel_uid = (panel.get("datasource") or {}).get("uid")
            for target in panel.get("targets", []):
                uid = (target.get("datasource") or {}).get("uid", panel_uid)
                expr = target.get("expr")
                if expr is None:
                    expr = ""  # e.g. Tempo's service map: no expression.
                slug = re.sub(r"\W+", "-", panel["title"]).strip("-").lower()
                queries.append((f"{path.stem}:{slug}:{target['refId']}", uid, _substitute(expr, variables)))
    return queries


QUERIES = _dashboard_queries()


def _as_promql(expr):
    """Grafana's label_values(selector, label) as PromQL that returns one
    series per value."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", expr, re.S)
    if match:
        return f"count by ({match.group(2)}) ({match.group(1)})"
    match = re.fullmatch(r"\s*label_values\(\s*(\w+)\s*\)\s*", expr)
    if match:
        return f"count by ({match.group(1)}) ({{{match.group(1)}=~\".+\"}})"
    return expr


# ------------------------------------------------------------ the running stack


def _start(name, argv, env, logs):
    log = open(logs / f"{name}.log", "w")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(process, timeout=30):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


def _generated_prometheus_config(targets, unused_target):
    """deploy/prometheus/prometheus.yml with loopback targets, 1 s intervals and
    absolute rule-file paths. A job with no local process (a service the
    generator added and this test does not start) points at a closed port:
    it stays configured, and reads as down."""
    config = yaml.safe_load(PROM_CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(PROM_CONFIG.parent / f) for f in config.get("rule_files", [])]
    for job in config["scrape_configs"]:
        address = targets.get(job["job_name"], unused_target)
        job["static_configs"] = [{"targets": [address]}]
    assert set(targets) <= {j["job_name"] for j in config["scrape_configs"]}, (
        "prometheus.yml lost a service's job; dashboards and SLO rules select on job names"
    )
    return config


def _serve_exposition(port, render):
    """Serves render(seconds since start) as Prometheus text on loopback."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server API)
            body = render(int(time.monotonic() - started)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("native")
    recommendations_bin = os.environ.get("RECOMMENDATIONS_BIN", str(ROOT / "target/debug/recommendations"))
    marketplace_bin = os.environ.get("MARKETPLACE_BIN", str(ROOT / "target/debug/marketplace"))
    prometheus_bin = shutil.which(os.environ.get("PROMETHEUS_BIN", "prometheus"))
    for binary in (recommendations_bin, marketplace_bin):
        assert Path(binary).is_file(), f"{binary} not found: run `bash deploy/validate.sh`, which finds or builds them"
    assert prometheus_bin, "prometheus not found: `apt-get install prometheus`, or set PROMETHEUS_BIN"

    ports = _free_ports(("grpc", "rec_admin", "http", "mkt_admin", "prometheus", "unused",
                         "collector", "trace_metrics"))
    # No OTLP endpoint: the services keep telemetry local. Drain at once.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    base_env.update(SHUTDOWN_DELAY="0s", SHUTDOWN_TIMEOUT="5s", RUST_LOG="warn")

    processes = {}
    servers = []
    try:
        # Some injected UNAVAILABLE answers, so the error-ratio queries and
        # SLO rules see real server faults, not just zeros.
        processes["recommendations"] = _start("recommendations", [recommendations_bin], dict(
            base_env, GRPC_ADDR=f"127.0.0.1:{ports['grpc']}", ADMIN_ADDR=f"127.0.0.1:{ports['rec_admin']}",
            FAULT_ERROR_RATE=str(FAULT_ERROR_RATE)), tmp)
        processes["marketplace"] = _start("marketplace", [marketplace_bin], dict(
            base_env, HTTP_ADDR=f"127.0.0.1:{ports['http']}", ADMIN_ADDR=f"127.0.0.1:{ports['mkt_admin']}",
            RECOMMENDATIONS_URL=f"http://127.0.0.1:{ports['grpc']}"), tmp)

        # The collector's two endpoints, from the stand-in (see the module doc).
        for port, render in ((ports["collector"], collector_exposition), (ports["trace_metrics"], trace_metrics_exposition)):
            servers.append(_serve_exposition(port, render))
        config = _generated_prometheus_config(
            {"recommendations": f"127.0.0.1:{ports['rec_admin']}", "marketplace": f"127.0.0.1:{ports['mkt_admin']}",
             "otel-collector": f"127.0.0.1:{ports['collector']}",
             "otel-collector-spanmetrics": f"127.0.0.1:{ports['trace_metrics']}"},
            f"127.0.0.1:{ports['unused']}",
        )
        config_path = tmp / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config))
        # The same feature flags as docker-compose.yaml, so a flag this
        # Prometheus does not know fails here.
        processes["prometheus"] = _start("prometheus", [
            prometheus_bin,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
            "--enable-feature=exemplar-storage",
            "--web.enable-remote-write-receiver",
        ], base_env, tmp)

        for name, port in (("recommendations", ports["rec_admin"]), ("marketplace", ports["mkt_admin"])):
            _wait_until(f"{name} /readyz", lambda p=port: requests.get(f"http://127.0.0.1:{p}/readyz", timeout=2).ok)
        prometheus = f"http://127.0.0.1:{ports['prometheus']}"
        _wait_until("prometheus /-/ready", lambda: requests.get(f"{prometheus}/-/ready", timeout=2).ok)

        pages = _generate_load(f"http://127.0.0.1:{ports['http']}")
        # Wait until Prometheus has scraped the load and the rules have run
        # on it: one more scrape and evaluation after the last request.
        _wait_until("the load to be scraped", lambda: _query_value(
            prometheus, 'sum(http_server_request_duration_seconds_count{job="marketplace", http_route="/"})') >= pages)
        _wait_until("the SLO rules to evaluate", lambda: len(_query(
            prometheus, "job:slo_availability_error:ratio_rate5m")) == 2)
        yield {
            "prometheus": prometheus, "pages": pages, "logs": tmp,
            "bins": {"recommendations": recommendations_bin, "marketplace": marketplace_bin},
            "admin": {"recommendations": ports["rec_admin"], "marketplace": ports["mkt_admin"]},
            "env": base_env,
        }
    finally:
        codes = {name: _stop(process) for name, process in reversed(processes.items())}
        for server in servers:
            server.shutdown()
            server.server_close()
    for name in ("recommendations", "marketplace"):
        assert codes.get(name) == 0, f"{name} exited {codes.get(name)} on SIGTERM; see {tmp / name}.log"


def _generate_load(base_url):
    """GET / about 40 times a second for PAGE_LOADS_SECONDS, with every fifth
    request to an unknown path (a 404 under route "_OTHER"). Returns the
    number of successful page loads."""
    pages = 0
    session = requests.Session()
    deadline = time.monotonic() + PAGE_LOADS_SECONDS
    n = 0
    while time.monotonic() < deadline:
        n += 1
        if n % 5 == 0:
            assert session.get(f"{base_url}/no-such-page-{n}", timeout=5).status_code == 404
        else:
            response = session.get(f"{base_url}/", timeout=5)
            assert response.status_code == 200, response.text[:200]
            pages += 1
        time.sleep(0.025)
    assert pages >= 200, f"only {pages} page loads in {PAGE_LOADS_SECONDS}s"
    return pages


def _query(prometheus, expr):
    response = requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)
    body = response.json()
    assert body.get("status") == "success", f"{expr!r}: {body.get('errorType')}: {body.get('error')}"
    return body["data"]["result"]


def _query_value(prometheus, expr):
    result = _query(prometheus, expr)
    return float(result[0]["value"][1]) if result else -1


# ------------------------------------------------------------ the tests


@pytest.mark.parametrize(("uid", "expr"), [(uid, expr) for _, uid, expr in QUERIES],
                         ids=[qid for qid, _, _ in QUERIES])
def test_dashboard_query(stack, uid, expr):
    if uid != "prometheus":
        pytest.skip(f"{uid} data source: no {uid} runs in this test")
    promql = _as_promql(expr)
    result = _query(stack["prometheus"], promql)
    if any(re.search(rf"\b{metric}", expr) for metric in REQUIRED_METRICS) or re.search(r"\b(otelcol|traces)_", expr):
        assert result, f"no data for {promql!r}"
        values = [float(s["value"][1]) for s in result]
        assert any(math.isfinite(v) for v in values), f"only NaN/Inf for {promql!r}: {values}"


def test_every_dashboard_query_was_collected():
    assert len(DASHBOARDS) >= 2, DASHBOARDS
    prometheus_queries = [q for q in QUERIES if q[1] == "prometheus"]
    assert len(prometheus_queries) >= 20, "fewer dashboard queries than expected: is a dashboard unparsed?"


def test_job_variable_lists_both_services(stack):
    jobs = {s["metric"]["job"] for s in _query(stack["prometheus"], "count by (job) (build_info)")}
    assert {"recommendations", "marketplace"} <= jobs, jobs


def test_red_metrics_carry_the_expected_labels(stack):
    prometheus = stack["prometheus"]
    page = _query(prometheus, 'sum by (job, http_route, http_response_status_code) '
                              '(http_server_request_duration_seconds_count{http_request_method="GET"})')
    routes = {(s["metric"]["job"], s["metric"]["http_route"], s["metric"]["http_response_status_code"]) for s in page}
    assert ("marketplace", "/", "200") in routes, routes
    assert ("marketplace", "_OTHER", "404") in routes, "unknown paths must share one route label, not the raw path"
    recommend = "recommendations.v1.RecommendationsService/Recommend"
    grpc = _query(prometheus, 'sum by (job, rpc_method, rpc_response_status_code) '
                              '(rpc_server_call_duration_seconds_count)')
    calls = {tuple(s["metric"].get(k) for k in ("job", "rpc_method", "rpc_response_status_code")) for s in grpc}
    assert ("recommendations", recommend, "OK") in calls, calls
    client = _query(prometheus, 'sum by (job, rpc_method) (rpc_client_call_duration_seconds_count)')
    assert {(s["metric"]["job"], s["metric"]["rpc_method"]) for s in client} >= {("marketplace", recommend)}
    # `rpc.service` is deprecated: the service is part of `rpc.method`.
    assert not _query(prometheus, 'count({rpc_service!=""})')


def test_slo_rules_load_and_evaluate_on_real_metrics(stack):
    prometheus = stack["prometheus"]
    groups = requests.get(f"{prometheus}/api/v1/rules", timeout=10).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) >= 18, f"only {len(rules)} rules loaded"
    broken = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
    assert not broken, broken
    for record in ("job:slo_availability_error:ratio_rate5m", "job:slo_latency_slow:ratio_rate5m"):
        values = {s["metric"]["job"]: float(s["value"][1]) for s in _query(prometheus, record)}
        assert set(values) == {"recommendations", "marketplace"}, (record, values)
    availability = {s["metric"]["job"]: float(s["value"][1])
                    for s in _query(prometheus, "job:slo_availability_error:ratio_rate5m")}
    # Injected UNAVAILABLE answers are server faults and spend budget...
    assert 0.5 * FAULT_ERROR_RATE < availability["recommendations"] < 2 * FAULT_ERROR_RATE, availability
    # ...while the marketplace renders a degraded page (200) and 404s for
    # unknown paths are the caller's fault: 0, not "no data".
    assert availability["marketplace"] == 0.0, availability
    firing = _query(prometheus, 'ALERTS{alertstate="firing"}')
    assert not firing, f"alerts firing on a healthy system: {firing}"


@pytest.mark.parametrize("service", ["recommendations", "marketplace"])
def test_compose_healthcheck_command_reports_ready(stack, service):
    """The exact healthcheck argv from docker-compose.yaml, with the image's
    /usr/local/bin path mapped to the local binary: exit 0 against the
    running service, non-zero when nothing answers."""
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    argv = compose["services"][service]["healthcheck"]["test"]
    assert argv[0] == "CMD" and argv[1] == f"/usr/local/bin/{service}", argv
    command = [stack["bins"][service], *argv[2:]]
    ready = subprocess.run(command, env=dict(stack["env"], ADMIN_ADDR=f"127.0.0.1:{stack['admin'][service]}"),
                           capture_output=True, timeout=30)
    assert ready.returncode == 0, ready.stderr.decode()[-500:]
    down = subprocess.run(command, env=dict(stack["env"], ADMIN_ADDR=f"127.0.0.1:{_free_ports(['down'])['down']}"),
                          capture_output=True, timeout=30)
    assert down.returncode != 0, "healthcheck passed with nothing listening"
