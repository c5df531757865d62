#!/usr/bin/env python3
"""Benchmarks the Rust services against the tutorial's Python system and a
bare (no telemetry) baseline, and writes the tables into docs/benchmarks.md.

Run it through `bash bench/run.sh`, which installs the tools and builds
everything first. Topology: the services under test are pinned to CPU 0 with
taskset, the load generators (h2load, wrk) and the OTLP sink to CPU 1.
Every load point runs REPEATS times for DURATION seconds after a warm-up;
the tables report the median and the range.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
PYTHON_DIR = ROOT / "bench" / "python"
VENV_PYTHON = ROOT / "bench" / ".venv" / "bin" / "python"
DOC = ROOT / "docs" / "benchmarks.md"
SERVICE_CPU = "0"
LOAD_CPU = "1"

V1_PATH = "/recommendations.v1.RecommendationsService/Recommend"
LEGACY_PATH = "/Recommendations/Recommend"
# RecommendRequest{user_id: 1, category: MYSTERY, max_results: 3}, framed as
# a gRPC message: no compression, 4-byte big-endian length, then protobuf.
V1_BODY = bytes([0, 0, 0, 0, 6, 0x08, 0x01, 0x10, 0x01, 0x18, 0x03])
# The tutorial's RecommendationRequest: MYSTERY is 0, so it is not sent.
LEGACY_BODY = bytes([0, 0, 0, 0, 4, 0x08, 0x01, 0x18, 0x03])


def free_ports(count):
    """Free loopback ports, all different: every socket stays bound until all
    are chosen (ports picked one at a time can repeat)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port():
    return free_ports(1)[0]


class Service:
    """A process pinned to the service CPU."""

    def __init__(self, name, argv, env=None, cwd=None):
        self.name = name
        full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
        full_env.update(env or {})
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            ["taskset", "-c", SERVICE_CPU, *argv],
            env=full_env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def pids(self):
        """This process and its descendants (gunicorn's workers)."""
        pids, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            pids.append(pid)
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            frontier.extend(int(c) for c in children)
        return pids

    def memory_kib(self, field):
        """Sum of VmRSS (current) or VmHWM (peak) over the process tree."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
            except OSError:
                pass
        return total

    def stop(self):
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def wait_until(check, what, timeout=30.0):
    """Polls `check` every 2 ms; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.002)
    raise RuntimeError(f"{what} not ready after {timeout} s")


def http_ok(url):
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def page_has_books(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        body = response.read().decode()
    return response.status == 200 and body.count("<li>") == 3


def tcp_open(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


# --- load generators -------------------------------------------------------

def h2load(url, body_file, clients, streams, duration, warmup):
    """One h2load run; returns (req/s, p50 ms, p99 ms)."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        command = [
            "taskset", "-c", LOAD_CPU, "h2load", "-t", "1",
            "-c", str(clients), "-m", str(streams),
            "-D", str(duration), f"--warm-up-time={warmup}",
            "-d", str(body_file),
            "-H", "content-type: application/grpc", "-H", "te: trailers",
            "--log-file", log.name, url,
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rate = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", output).group(1))
        done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", output)
        if int(done.group(3)) or int(done.group(4)):
            raise RuntimeError(f"h2load saw failures:\n{output}")
        latencies = sorted(
            int(line.split("\t")[2]) / 1000.0
            for line in Path(log.name).read_text().splitlines()
            if line.count("\t") >= 2 and line.split("\t")[1] == "200"
        )
    return rate, percentile(latencies, 50), percentile(latencies, 99)


def wrk(url, connections, duration, warmup):
    """A warm-up, then one wrk run; returns (req/s, p50 ms, p99 ms)."""
    base = ["taskset", "-c", LOAD_CPU, "wrk", "-t", "1", "-c", str(connections), "--latency"]
    subprocess.run([*base, "-d", f"{warmup}s", url], capture_output=True, check=True)
    output = subprocess.run([*base, "-d", f"{duration}s", url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+([\d.]+\w+)", output, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+([\d.]+\w+)", output, re.M).group(1))
    return rate, p50, p99


def to_ms(value):
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(p / 100.0 * (len(sorted_values) - 1)))
    return sorted_values[index]


def summarize(runs):
    """Median and range of each of (req/s, p50, p99) over the repeats."""
    columns = list(zip(*runs))
    return [(statistics.median(c), min(c), max(c)) for c in columns]


# --- the systems under test -------------------------------------------------

def rust_env(sink_port, sampler):
    """The telemetry configuration the Kubernetes manifests ship."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_TRACES_SAMPLER": sampler[0],
        "OTEL_TRACES_SAMPLER_ARG": sampler[1],
        "RUST_LOG": "info",
        "SHUTDOWN_DELAY": "0s",
        "SHUTDOWN_TIMEOUT": "5s",
    }


# As compose and Kubernetes ship it: every span exported, the collector's
# tail sampler deciding what to keep.
SHIPPED = ("parentbased_always_on", "")
# A head sampler at 10 %, as the manifests shipped before tail sampling.
TENTH = ("parentbased_traceidratio", "0.1")


SHIPPED_LABEL = "Rust, shipped telemetry (always-on)"
TENTH_LABEL = "Rust, telemetry with sampler 0.1"


def start_rust_recommendations(sink_port, sampler, extra_env=None):
    grpc, admin = free_ports(2)
    env = rust_env(sink_port, sampler)
    env.update(extra_env or {})
    env.update(GRPC_ADDR=f"127.0.0.1:{grpc}", ADMIN_ADDR=f"127.0.0.1:{admin}")
    service = Service("recommendations", [str(RELEASE / "recommendations")], env)
    service.admin = admin
    ready = wait_until(lambda: http_ok(f"http://127.0.0.1:{admin}/readyz"), "recommendations")
    return service, grpc, ready


def start_rust_marketplace(sink_port, sampler, grpc_port, extra_env=None):
    http, admin = free_ports(2)
    env = rust_env(sink_port, sampler)
    env.update(extra_env or {})
    env.update(
        HTTP_ADDR=f"127.0.0.1:{http}",
        ADMIN_ADDR=f"127.0.0.1:{admin}",
        RECOMMENDATIONS_URL=f"http://127.0.0.1:{grpc_port}",
    )
    service = Service("marketplace", [str(RELEASE / "marketplace")], env)
    service.admin = admin
    ready = wait_until(lambda: http_ok(f"http://127.0.0.1:{admin}/readyz"), "marketplace")
    return service, http, ready


def start_bare_recommendations():
    grpc = free_port()
    service = Service("bare-recommendations", [str(RELEASE / "bare-recommendations")], {"GRPC_ADDR": f"127.0.0.1:{grpc}"})
    ready = wait_until(lambda: tcp_open(grpc), "bare-recommendations")
    return service, grpc, ready


def start_bare_marketplace(grpc_port):
    http = free_port()
    env = {"HTTP_ADDR": f"127.0.0.1:{http}", "RECOMMENDATIONS_URL": f"http://127.0.0.1:{grpc_port}"}
    service = Service("bare-marketplace", [str(RELEASE / "bare-marketplace")], env)
    ready = wait_until(lambda: tcp_open(http), "bare-marketplace")
    return service, http, ready


def start_python_recommendations(stubs):
    grpc = free_port()
    env = {"GRPC_ADDR": f"127.0.0.1:{grpc}", "PYTHONPATH": f"{stubs}:{PYTHON_DIR}"}
    service = Service("python-recommendations", [str(VENV_PYTHON), str(PYTHON_DIR / "recommendations.py")], env)
    ready = wait_until(lambda: tcp_open(grpc), "python recommendations")
    return service, grpc, ready


def start_flask(stubs, grpc_port, server):
    http = free_port()
    env = {"RECOMMENDATIONS_ADDR": f"127.0.0.1:{grpc_port}", "PYTHONPATH": f"{stubs}:{PYTHON_DIR}"}
    if server == "flask run":
        argv = [str(VENV_PYTHON), "-m", "flask", "--app", "marketplace", "run", "--port", str(http)]
    else:
        # gunicorn's recommended worker count for one core is 2-4; threads
        # let a worker overlap its gRPC wait.
        argv = [str(VENV_PYTHON), "-m", "gunicorn", "--workers", "2", "--threads", "4",
                "--bind", f"127.0.0.1:{http}", "marketplace:app"]
    service = Service(server, argv, env, cwd=PYTHON_DIR)
    ready = wait_until(lambda: http_ok(f"http://127.0.0.1:{http}/"), server)
    return service, http, ready


# --- the run ----------------------------------------------------------------

def generate_python_stubs():
    out = Path(tempfile.mkdtemp(prefix="bench-stubs-"))
    subprocess.run(
        [str(VENV_PYTHON), "-m", "grpc_tools.protoc", f"-I{ROOT / 'protobufs'}",
         f"--python_out={out}", f"--grpc_python_out={out}", "recommendations.proto"],
        check=True,
    )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat of 3 s: for trying changes, not for the record")
    parser.add_argument("--no-write", action="store_true", help="print the tables; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    duration, warmup, repeats = (3, 1, 1) if args.quick else (10, 2, 3)

    stubs = generate_python_stubs()
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    v1_body, legacy_body = workdir / "v1.bin", workdir / "legacy.bin"
    v1_body.write_bytes(V1_BODY)
    legacy_body.write_bytes(LEGACY_BODY)

    sink_port = free_port()
    sink = subprocess.Popen(
        ["taskset", "-c", LOAD_CPU, str(RELEASE / "otlp-sink"), "--addr", f"127.0.0.1:{sink_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    wait_until(lambda: tcp_open(sink_port), "otlp-sink")

    results = {"grpc": {}, "page": {}, "memory": {}, "startup": {}}
    grpc_points = [("one at a time (-c1 -m1)", 1, 1), ("saturated (-c4 -m16)", 4, 16)]
    page_points = [("one at a time (-c1)", 1), ("saturated (-c8)", 8)]

    def run_interleaved(kind, systems, points, load):
        """Starts every system, then runs each load point `repeats` times with
        the systems taking turns within each repeat, so a slow spell of this
        virtual machine falls on all of them alike. Idle systems wait on
        their sockets and cost the one under load nothing."""
        started = []
        try:
            for label, start, check, measure_memory in systems:
                services, target, ready = start()
                started.append((label, services, target, measure_memory))
                check(target)
                results["startup"][label] = ready
                if measure_memory:
                    for name, service in memory_labels(kind, label, services):
                        results["memory"][f"{name}: idle"] = service.memory_kib("VmRSS")
            for point, *load_args in points:
                runs = {label: [] for label, *_ in started}
                for _ in range(repeats):
                    for label, _, target, _ in started:
                        runs[label].append(load(target, *load_args))
                for label, label_runs in runs.items():
                    results[kind].setdefault(label, {})[point] = summarize(label_runs)
                    print(f"{kind:5} {label:45} {point:25} {fmt_point(summarize(label_runs))}", flush=True)
            for label, services, _, measure_memory in started:
                if measure_memory:
                    for name, service in memory_labels(kind, label, services):
                        results["memory"][f"{name}: peak under saturation"] = service.memory_kib("VmHWM")
        finally:
            for _, services, _, _ in reversed(started):
                for service in reversed(services):
                    service.stop()

    def grpc_system(label, start, path, body, measure_memory=False):
        def start_one():
            service, port, ready = start()
            return [service], (f"http://127.0.0.1:{port}{path}", body), ready
        return label, start_one, lambda target: assert_grpc_works(*target), measure_memory

    run_interleaved("grpc", [
        grpc_system(SHIPPED_LABEL, lambda: start_rust_recommendations(sink_port, SHIPPED), V1_PATH, v1_body, measure_memory=True),
        grpc_system(TENTH_LABEL, lambda: start_rust_recommendations(sink_port, TENTH), V1_PATH, v1_body),
        grpc_system("Rust, bare (no telemetry layers)", start_bare_recommendations, V1_PATH, v1_body),
        grpc_system("Python grpcio (tutorial)", lambda: start_python_recommendations(stubs), LEGACY_PATH, legacy_body, measure_memory=True),
    ], grpc_points, lambda target, clients, streams: h2load(*target, clients, streams, duration, warmup))

    def rust_pair(sampler):
        def start():
            rec, grpc, _ = start_rust_recommendations(sink_port, sampler)
            market, http, ready = start_rust_marketplace(sink_port, sampler, grpc)
            return [rec, market], f"http://127.0.0.1:{http}/", ready
        return start

    def bare_pair():
        rec, grpc, _ = start_bare_recommendations()
        market, http, ready = start_bare_marketplace(grpc)
        return [rec, market], f"http://127.0.0.1:{http}/", ready

    def python_pair(server):
        def start():
            rec, grpc, _ = start_python_recommendations(stubs)
            market, http, ready = start_flask(stubs, grpc, server)
            return [rec, market], f"http://127.0.0.1:{http}/", ready
        return start

    def check_page(url):
        if not page_has_books(url):
            raise RuntimeError(f"{url}: the page has no books")

    run_interleaved("page", [
        (SHIPPED_LABEL, rust_pair(SHIPPED), check_page, True),
        (TENTH_LABEL, rust_pair(TENTH), check_page, False),
        ("Rust, bare (no telemetry layers)", bare_pair, check_page, False),
        ("Flask, `flask run` (tutorial)", python_pair("flask run"), check_page, True),
        ("Flask, gunicorn (2 workers x 4 threads)", python_pair("gunicorn"), check_page, False),
    ], page_points, lambda url, connections: wrk(url, connections, duration, warmup))

    sink.send_signal(signal.SIGTERM)
    _, sink_report = sink.communicate(timeout=10)
    results["sink"] = sink_report.strip()
    import delivery  # noqa: E402 (it builds on this module's helpers)
    results["delivery"] = delivery.measure(v1_body, quick=args.quick)
    results["settings"] = {"duration": duration, "warmup": warmup, "repeats": repeats}
    results["machine"] = machine()

    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "latest.json").write_text(json.dumps(results, indent=2))
    tables = render(results)
    print(tables)
    if not args.no_write:
        write_doc(tables)


def assert_grpc_works(url, body):
    """One call with h2load before timing: a gRPC error also comes back as
    HTTP 200, so check the answer's trailers say OK."""
    output = subprocess.run(
        ["nghttp", "-v", "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers", url],
        capture_output=True, text=True, timeout=10,
    ).stdout
    if "grpc-status: 0" not in output:
        raise RuntimeError(f"the gRPC call to {url} failed:\n{output[-2000:]}")


def memory_labels(kind, label, services):
    """How each service's memory is named in the tables: a gRPC system is one
    process; a page system names each of its two."""
    if kind == "grpc":
        return [(label, services[0])]
    return [(f"{service.name} ({label})", service) for service in services]


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    memory = next(l.split(":", 1)[1].strip() for l in Path("/proc/meminfo").read_text().splitlines()
                  if l.startswith("MemTotal"))
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    h2 = subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.strip().splitlines()[0]
    python = subprocess.run([str(VENV_PYTHON), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "kernel": platform.release(),
        "rustc": rustc,
        "tools": f"{h2}; {wrk_version}; {python}",
    }


def fmt_point(summary):
    (rate, rate_lo, rate_hi), (p50, p50_lo, p50_hi), (p99, p99_lo, p99_hi) = summary
    return (f"{rate:,.0f} req/s ({rate_lo:,.0f}–{rate_hi:,.0f}) | p50 {p50:.3f} ms ({p50_lo:.3f}–{p50_hi:.3f})"
            f" | p99 {p99:.3f} ms ({p99_lo:.3f}–{p99_hi:.3f})")


def render(results):
    lines = []
    m, s = results["machine"], results["settings"]
    lines += [
        f"Machine: {m['cpu']}, {m['memory']} RAM, Linux {m['kernel']}; {m['rustc']}; {m['tools']}.",
        f"Each point: {s['repeats']} run(s) of {s['duration']} s after a {s['warmup']} s warm-up; median (min–max).",
        f"OTLP sink received: {results.get('sink', '?')}.",
        "",
    ]
    for kind, title in (("grpc", "Recommend (gRPC unary, h2load)"), ("page", "The page (GET /, wrk; both services on CPU 0)")):
        lines += [f"### {title}", "", "| System | Load | Throughput (req/s) | p50 (ms) | p99 (ms) |", "|---|---|---|---|---|"]
        for system, points in results[kind].items():
            for point, summary in points.items():
                (rate, rlo, rhi), (p50, plo, phi), (p99, qlo, qhi) = summary
                lines.append(f"| {system} | {point} | {rate:,.0f} ({rlo:,.0f}–{rhi:,.0f}) | "
                             f"{p50:.3f} ({plo:.3f}–{phi:.3f}) | {p99:.3f} ({qlo:.3f}–{qhi:.3f}) |")
        lines.append("")
    lines += ["### Spans delivered (saturated, always-on)", "",
              "| Load | Requests | Spans made | Received by the sink | Dropped at the queue (SDK's count) | Exports failed |",
              "|---|---|---|---|---|---|"]
    for load, m in results.get("delivery", {}).items():
        lines.append(f"| {load} | {m['requests']:,} | {m['made']:,} | {m['received']:,} ({m['received'] / m['made']:.2%}) | "
                     f"{m['queue_full']:,.0f} | {m['export_failed']:,.0f} |")
    lines.append("")
    lines += ["### Memory (RSS, whole process tree)", "", "| Process | RSS |", "|---|---|"]
    for name, kib in results["memory"].items():
        lines.append(f"| {name} | {kib / 1024:.1f} MiB |")
    lines += ["", "### Start to ready", "", "| System | Time |", "|---|---|"]
    for name, seconds in results["startup"].items():
        lines.append(f"| {name} | {seconds * 1000:.0f} ms |")
    lines += ["", "### Targets", "", "| Target | Measured | Met |", "|---|---|---|"]
    lines += targets(results)
    return "\n".join(lines) + "\n"


def targets(results):
    g, p, mem, start = results["grpc"], results["page"], results["memory"], results["startup"]
    sat_g, one_g = "saturated (-c4 -m16)", "one at a time (-c1 -m1)"
    sat_p, one_p = "saturated (-c8)", "one at a time (-c1)"
    rust, bare = SHIPPED_LABEL, "Rust, bare (no telemetry layers)"
    rate = lambda table, system, point: table[system][point][0][0]
    p50 = lambda table, system, point: table[system][point][1][0]
    p99 = lambda table, system, point: table[system][point][2][0]
    rows = []

    def row(name, value, ok):
        rows.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")

    r = rate(g, rust, sat_g) / rate(g, bare, sat_g)
    row("Recommend saturated, always-on ≥ 0.8 × bare", f"{r:.2f} ×", r >= 0.8)
    r = rate(p, rust, sat_p) / rate(p, bare, sat_p)
    row("Page saturated, always-on ≥ 0.75 × bare", f"{r:.2f} ×", r >= 0.75)
    r = p99(g, rust, one_g) / p99(g, bare, one_g)
    row("Recommend one at a time, always-on p99 ≤ 1.5 × bare", f"{r:.2f} ×", r <= 1.5)
    r = p99(p, rust, one_p) / p99(p, bare, one_p)
    row("Page one at a time, always-on p99 (for reference) ≤ 1.5 × bare", f"{r:.2f} ×", r <= 1.5)
    for load, measured in results.get("delivery", {}).items():
        share = measured["received"] / measured["made"]
        row(f"{load}, saturated, always-on: spans received ≥ 99 %", f"{share:.2%}", share >= 0.99)
    r = rate(g, rust, sat_g) / rate(g, "Python grpcio (tutorial)", sat_g)
    row("Recommend saturated ≥ 10 × Python", f"{r:.1f} ×", r >= 10)
    r = rate(p, rust, sat_p) / rate(p, "Flask, `flask run` (tutorial)", sat_p)
    row("Page saturated ≥ 12 × Flask (`flask run`)", f"{r:.1f} ×", r >= 12)
    r = rate(p, rust, sat_p) / rate(p, "Flask, gunicorn (2 workers x 4 threads)", sat_p)
    row("Page saturated vs Flask under gunicorn (for reference)", f"{r:.1f} ×", r >= 12)
    v = p50(g, rust, one_g)
    row("Recommend one at a time p50 ≤ 0.25 ms", f"{v:.3f} ms", v <= 0.25)
    v = p50(p, rust, one_p)
    row("Page one at a time p50 ≤ 0.5 ms", f"{v:.3f} ms", v <= 0.5)
    for name, kib in mem.items():
        if name.startswith(("recommendations", "marketplace", "Rust")):
            limit = 20 if name.endswith("idle") else 64
            row(f"{name} ≤ {limit} MiB", f"{kib / 1024:.1f} MiB", kib / 1024 <= limit)
    for name in (rust,):
        row(f"Start to ready ({name}) ≤ 100 ms", f"{start[name] * 1000:.0f} ms", start[name] <= 0.1)
    return rows


def write_doc(tables):
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{begin}\n{end}\n"
    before, rest = text.split(begin, 1)
    _, after = rest.split(end, 1)
    DOC.write_text(f"{before}{begin}\n{tables}{end}{after}")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    if not shutil.which("h2load") or not shutil.which("wrk"):
        sys.exit("h2load and wrk are needed: run bash bench/run.sh, which installs them")
    main()
