#!/usr/bin/env python3
"""Measures what the capacity model in docs/capacity.md takes from the
services themselves, and prints it as the doc's tables:

- requests per second per core for each service, with telemetry as
  Kubernetes ships it (every span exported: parentbased_always_on);
- spans and OTLP bytes per page and per gRPC call, as the receiver gets them;
- log records per error (a failed call, a degraded page);
- /metrics series per pod, and how they grow with routes, methods and codes.

Run it through `bash bench/capacity.sh`, which builds the release binaries
and installs h2load first. Topology as in bench/run.py: the services on
CPU 0, the load generator, the OTLP sink and the byte counter on CPU 1.

Bytes: otlp-sink (crates/bench) counts spans and log records but not bytes,
so each service exports through a TCP relay that counts what passes, the
bytes a collector's OTLP/gRPC receiver would read off the socket: protobuf
payloads plus gRPC and HTTP/2 framing and (HPACK-compressed) headers, with
no compression, the SDK's default. Counts are differences between a run with
N requests and the same run with none, so start-up and shutdown telemetry
cancel out."""

import argparse
import asyncio
import datetime
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

from capacity_model import print_model
from run import V1_BODY, V1_PATH, free_ports, http_ok, tcp_open, wait_until

ROOT = Path(__file__).resolve().parent.parent
RELEASE = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
SERVICE_CPU, LOAD_CPU = "0", "1"
LEGACY_PATH = "/Recommendations/Recommend"
# The same without a category: v1 answers INVALID_ARGUMENT.
V1_INVALID_BODY = bytes([0, 0, 0, 0, 4, 0x08, 0x01, 0x18, 0x03])
# The tutorial's RecommendationRequest (MYSTERY is 0, so not sent).
LEGACY_BODY = bytes([0, 0, 0, 0, 4, 0x08, 0x01, 0x18, 0x03])
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def spawn(argv, env, cpu, **kwargs):
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    full_env.update(env)
    return subprocess.Popen(["taskset", "-c", cpu, *argv], env=full_env, start_new_session=True, **kwargs)


def stop(process, timeout=30):
    """SIGTERM, then the process's exit; the services flush telemetry here."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


def cpu_seconds(process):
    """User plus system CPU time of a process (its own threads)."""
    fields = Path(f"/proc/{service_pid(process)}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def service_pid(process):
    """taskset execs the program, so the Popen pid is the service's."""
    return process.pid


def scrape(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as response:
        return response.read().decode()


def series(text):
    """Every sample line of a Prometheus text exposition."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def counter(text, name, **labels):
    total = 0.0
    for line in series(text):
        metric, _, value = line.rpartition(" ")
        if not metric.startswith(name + "{") and metric != name:
            continue
        if all(f'{k}="{v}"' in metric for k, v in labels.items()):
            total += float(value)
    return total


# ------------------------------------------------------------ byte counter


def run_relay(listen_port, target_port):
    """A TCP relay on 127.0.0.1:listen_port to target_port that counts the
    bytes each way and prints them at SIGTERM."""
    totals = {"up": 0, "down": 0}

    async def pipe(reader, writer, key):
        try:
            while data := await reader.read(65536):
                totals[key] += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(pipe(client_reader, server_writer, "up"), pipe(server_reader, client_writer, "down"))

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
        stopped = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
        async with server:
            await stopped.wait()
        print(f"relay: {totals['up']} bytes up, {totals['down']} bytes down", flush=True)

    asyncio.run(main())


class Receiver:
    """otlp-sink, optionally behind the byte-counting relay; `address` is
    where a service exports to."""

    def __init__(self, count_bytes):
        sink_port, relay_port = free_ports(2)
        self.sink = spawn([str(RELEASE / "otlp-sink"), "--addr", f"127.0.0.1:{sink_port}"], {}, LOAD_CPU,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_until(lambda: tcp_open(sink_port), "otlp-sink")
        self.relay = None
        port = sink_port
        if count_bytes:
            self.relay = spawn([sys.executable, __file__, "--relay", str(relay_port), str(sink_port)], {}, LOAD_CPU,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            wait_until(lambda: tcp_open(relay_port), "relay")
            port = relay_port
        self.address = f"http://127.0.0.1:{port}"

    def finish(self):
        """Stops the relay and the sink: (spans, log records, bytes up)."""
        bytes_up = 0
        if self.relay:
            out, _ = stop(self.relay)
            bytes_up = int(re.search(r"(\d+) bytes up", out).group(1))
        _, err = stop(self.sink)
        match = re.search(r"otlp-sink: (\d+) spans, (\d+) log records", err)
        return int(match.group(1)), int(match.group(2)), bytes_up


# ------------------------------------------------------------ services


def telemetry_env(receiver):
    """Telemetry as deploy/k8s/base/config/*.env ships it."""
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.address,
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "RUST_LOG": "info",
        "SHUTDOWN_DELAY": "0s",
        "SHUTDOWN_TIMEOUT": "5s",
    }


class Stack:
    """recommendations, and the marketplace in front of it if `page`."""

    def __init__(self, page, count_bytes, fault_error_rate=0.0):
        self.receivers = {"recommendations": Receiver(count_bytes)}
        grpc, rec_admin, http, mkt_admin = free_ports(4)
        env = telemetry_env(self.receivers["recommendations"])
        env.update(GRPC_ADDR=f"127.0.0.1:{grpc}", ADMIN_ADDR=f"127.0.0.1:{rec_admin}",
                   FAULT_ERROR_RATE=str(fault_error_rate))
        self.processes = {"recommendations": spawn([str(RELEASE / "recommendations")], env, SERVICE_CPU,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)}
        self.admin = {"recommendations": rec_admin}
        self.grpc_base = f"http://127.0.0.1:{grpc}"
        self.grpc_url = f"{self.grpc_base}{V1_PATH}"
        if page:
            self.receivers["marketplace"] = Receiver(count_bytes)
            env = telemetry_env(self.receivers["marketplace"])
            env.update(HTTP_ADDR=f"127.0.0.1:{http}", ADMIN_ADDR=f"127.0.0.1:{mkt_admin}",
                       RECOMMENDATIONS_URL=f"http://127.0.0.1:{grpc}")
            self.processes["marketplace"] = spawn([str(RELEASE / "marketplace")], env, SERVICE_CPU,
                                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.admin["marketplace"] = mkt_admin
        self.page_url = f"http://127.0.0.1:{http}/"
        for name, port in self.admin.items():
            wait_until(lambda p=port: http_ok(f"http://127.0.0.1:{p}/readyz"), name)

    def finish(self):
        """Stops the services (they flush), then the receivers: per service
        (spans, log records, bytes)."""
        for process in reversed(list(self.processes.values())):
            stop(process)
        return {name: receiver.finish() for name, receiver in self.receivers.items()}


# ------------------------------------------------------------ load


def h2load(url, *, requests=None, duration=None, warmup=0, clients=4, streams=1, grpc=False, h1=False, body=None):
    """One h2load run: (requests that succeeded, req/s)."""
    argv = ["taskset", "-c", LOAD_CPU, "h2load", "-t", "1", "-c", str(clients), "-m", str(streams)]
    argv += ["-n", str(requests)] if requests is not None else ["-D", str(duration), f"--warm-up-time={warmup}"]
    if h1:
        argv.append("--h1")
    if grpc:
        argv += ["-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers"]
    output = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", output)
    rate = float(re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", output).group(1))
    return int(done.group(1)), rate


def body_file(content, name):
    path = Path(tempfile.mkdtemp(prefix="capacity-")) / name
    path.write_bytes(content)
    return path


def grpc_body():
    return body_file(V1_BODY, "recommend.bin")


def per_request(kind, n, body, fault_error_rate=0.0, extra=None):
    """Runs the same stack twice, with 0 and with n requests, and returns the
    difference per request for each service: spans, log records, bytes; and
    the recommendations' own call count (retries included)."""
    results = []
    for count in (0, n):
        stack = Stack(page=kind == "page", count_bytes=True, fault_error_rate=fault_error_rate)
        calls = 0.0
        if count:
            if kind == "page":
                ok, _ = h2load(stack.page_url, requests=count, clients=4, h1=True)
            else:
                ok, _ = h2load(stack.grpc_url, requests=count, clients=4, grpc=True, body=body)
            assert ok == count, f"{ok} of {count} {kind} requests succeeded"
            calls = counter(scrape(stack.admin["recommendations"]), "rpc_server_call_duration_seconds_count")
        results.append((stack.finish(), calls))
    (empty, _), (loaded, calls) = results
    per = {name: tuple((loaded[name][i] - empty[name][i]) / n for i in range(3)) for name in loaded}
    return per, calls / n


def throughput(kind, body, duration, warmup, repeats):
    """Saturated runs: median req/s, and CPU-seconds per request for each
    service (from /proc, over the measured window and its warm-up)."""
    rates, cpu_per = [], defaultdict(list)
    stack = Stack(page=kind == "page", count_bytes=False)
    try:
        for _ in range(repeats):
            before = {name: cpu_seconds(p) for name, p in stack.processes.items()}
            count_before = _served(stack, kind)
            if kind == "page":
                _, rate = h2load(stack.page_url, duration=duration, warmup=warmup, clients=8, h1=True)
            else:
                _, rate = h2load(stack.grpc_url, duration=duration, warmup=warmup, clients=4, streams=16, grpc=True, body=body)
            served = _served(stack, kind) - count_before
            rates.append(rate)
            for name, process in stack.processes.items():
                cpu_per[name].append((cpu_seconds(process) - before[name]) / served)
    finally:
        stack.finish()
    return statistics.median(rates), {name: statistics.median(v) for name, v in cpu_per.items()}


def _served(stack, kind):
    if kind == "page":
        return counter(scrape(stack.admin["marketplace"]), "http_server_request_duration_seconds_count", http_route="/")
    return counter(scrape(stack.admin["recommendations"]), "rpc_server_call_duration_seconds_count")


def metric_series(body):
    """/metrics of both services at each step of growing traffic variety:
    every new route, method or status code is a new label set. One healthy
    pair for the first steps; server faults need a pair started with them."""
    steps = []
    stack = Stack(page=True, count_bytes=False)
    faulty = Stack(page=True, count_bytes=False, fault_error_rate=0.5)

    def snapshot(label, which):
        steps.append((label, {name: scrape(port) for name, port in which.admin.items()}))

    try:
        snapshot("idle, just started", stack)
        h2load(stack.page_url, requests=200, clients=2, h1=True)
        snapshot("+ 200 pages (GET / 200; Recommend OK)", stack)
        for i in range(50):
            try:
                urllib.request.urlopen(f"{stack.page_url}no-such-page-{i}", timeout=5)
            except urllib.error.HTTPError:
                pass
        snapshot("+ 50 unknown paths (404, all route _OTHER)", stack)
        h2load(stack.grpc_url, requests=50, clients=1, grpc=True, body=body_file(V1_INVALID_BODY, "invalid.bin"))
        snapshot("+ 50 calls without a category (INVALID_ARGUMENT)", stack)
        h2load(f"{stack.grpc_base}{LEGACY_PATH}", requests=50, clients=1, grpc=True, body=body_file(LEGACY_BODY, "legacy.bin"))
        snapshot("+ 50 calls to the tutorial's API (a second method)", stack)
        h2load(faulty.page_url, requests=200, clients=2, h1=True)
        snapshot("another pair, 50 % of calls failing: 200 pages (UNAVAILABLE, retried)", faulty)
    finally:
        stack.finish()
        faulty.finish()
    return steps


# ------------------------------------------------------------ report


def commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}; {rustc}"


def families(text):
    """Series per metric family (histograms: the _bucket/_sum/_count lines
    together), and label sets per family."""
    per_family, label_sets = Counter(), defaultdict(set)
    for line in series(text):
        name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        per_family[family] += 1
        labels = re.sub(r',?le="[^"]*"', "", line[len(name):].rsplit(" ", 1)[0])
        label_sets[family].add(labels)
    return per_family, label_sets


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, 1 short repeat: to try the script")
    parser.add_argument("--relay", nargs=2, type=int, metavar=("LISTEN", "TARGET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        return run_relay(*args.relay)

    n, duration, warmup, repeats = (300, 3, 1, 1) if args.quick else (3000, 10, 2, 3)
    body = grpc_body()
    print("# Capacity measurements (bench/capacity.py)\n")
    print(f"Command: `bash bench/capacity.sh{' --quick' if args.quick else ''}`; measured on commit {commit()}, "
          f"{datetime.date.today().isoformat()}.")
    print(f"Machine: {machine()}. Services on CPU {SERVICE_CPU}; h2load, otlp-sink and the byte relay on CPU {LOAD_CPU}.")
    print("Telemetry as Kubernetes ships it: OTEL_TRACES_SAMPLER=parentbased_always_on, RUST_LOG=info, "
          "OTLP/gRPC export, the kit's span batch defaults (a batch of up to 2048 every second).")
    print(f"Load average (1, 5, 15 min) at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          "other work on the machine slows the throughput column more than the CPU-per-request one.\n")

    print("## Requests per second per core, every span exported\n")
    print(f"Saturated (pages: h2load --h1 -c8; calls: -c4 -m16), {repeats} run(s) of {duration} s after {warmup} s "
          "of warm-up; median. CPU per request is each process's user+system time over the run (warm-up included) "
          "divided by what it served, read from /proc and its own /metrics.\n")
    print("| Load | Throughput on one core (req/s) | CPU per request | Requests per core-second |")
    print("|---|---|---|---|")
    rate, cpu = throughput("grpc", body, duration, warmup, repeats)
    print(f"| Recommend, gRPC, recommendations alone | {rate:,.0f} | recommendations {cpu['recommendations']*1e6:.1f} µs "
          f"| recommendations {1 / cpu['recommendations']:,.0f} calls |")
    rate, cpu = throughput("page", body, duration, warmup, repeats)
    cpu_per_page = cpu
    print(f"| GET /, marketplace + recommendations sharing the core | {rate:,.0f} | marketplace "
          f"{cpu['marketplace']*1e6:.1f} µs, recommendations {cpu['recommendations']*1e6:.1f} µs per page "
          f"| marketplace {1 / cpu['marketplace']:,.0f} pages; both {1 / sum(cpu.values()):,.0f} pages |")

    print("\n## Spans, OTLP bytes and log records per request, at the receiver\n")
    print(f"Each row: the stack run once with {n} requests and once with none; the difference divided by {n}. "
          "Bytes are OTLP/gRPC on the wire (protobuf + gRPC/HTTP/2 framing, uncompressed), traces and logs together.\n")
    print("| Request | Service | Spans | Log records | OTLP bytes | Bytes per span |")
    print("|---|---|---|---|---|---|")
    rows = [
        ("page (GET /, 200)", "page", 0.0),
        ("gRPC call (Recommend, OK)", "grpc", 0.0),
        ("degraded page (every call UNAVAILABLE)", "page", 1.0),
        ("failed gRPC call (UNAVAILABLE)", "grpc", 1.0),
    ]
    calls_per_degraded_page = None
    measured = {}
    for label, kind, rate in rows:
        per, calls = per_request(kind, n, body, fault_error_rate=rate)
        measured[label] = per
        if kind == "page" and rate:
            calls_per_degraded_page = calls
        for name, (spans, logs, nbytes) in per.items():
            per_span = f"{nbytes / spans:,.0f}" if spans else "-"
            print(f"| {label} | {name} | {spans:.2f} | {logs:.2f} | {nbytes:,.0f} | {per_span} |")
    print(f"\nA degraded page made {calls_per_degraded_page:.2f} Recommend calls (the client retries UNAVAILABLE "
          "twice within its deadline); its recommendations rows are per page, not per call.")
    ok_spans, _, ok_bytes = measured["gRPC call (Recommend, OK)"]["recommendations"]
    bad_spans, bad_logs, bad_bytes = measured["failed gRPC call (UNAVAILABLE)"]["recommendations"]
    if bad_logs and ok_spans == bad_spans:
        print(f"An error log record adds about {(bad_bytes - ok_bytes) / bad_logs:,.0f} bytes (a failed call less an OK "
              "one, same span count; the failed call's spans also carry the error status).")
    page = measured["page (GET /, 200)"]
    print(f"A page's whole trace: {sum(v[0] for v in page.values()):.2f} spans, "
          f"{sum(v[2] for v in page.values()):,.0f} OTLP bytes.")

    print("\n## /metrics series per pod\n")
    steps = metric_series(body)
    print("| Step | recommendations | marketplace |")
    print("|---|---|---|")
    for label, texts in steps:
        print(f"| {label} | {len(series(texts['recommendations']))} | {len(series(texts['marketplace']))} |")
    print("\nBy family, at the step before the failing pair and at the failing pair's (series, label sets with `le` "
          "aside, series per label set):\n")
    print("| Service | Family | Healthy pair | Failing pair |")
    print("|---|---|---|---|")
    healthy, failing = steps[-2][1], steps[-1][1]
    for name in ("recommendations", "marketplace"):
        (h_series, h_sets), (f_series, f_sets) = families(healthy[name]), families(failing[name])
        for family in sorted(set(h_series) | set(f_series), key=lambda f: (-max(h_series[f], f_series[f]), f)):
            cells = [f"{s[family]} ({len(sets[family])} x {s[family] // max(len(sets[family]), 1)})" if s[family] else "-"
                     for s, sets in ((h_series, h_sets), (f_series, f_sets))]
            print(f"| {name} | {family} | {cells[0]} | {cells[1]} |")
    print_model(sum(v[0] for v in page.values()), sum(v[2] for v in page.values()), cpu_per_page)
    print(f"\nLoad average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
