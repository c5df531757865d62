"""Nothing lost: at the saturated load, with every span exported, does every
span the services make reach the collector? Part of bench/run.py.

Each measurement has a counting OTLP receiver of its own (otlp-sink, on the
load CPU) and a fixed number of requests, so the spans made are known: one
per Recommend call, three per page (the page, its call, the call served).
The services' own counts of what their batch processors took and dropped
(`otel_sdk_processor_span_processed_total`) and of failed exports are read
from /metrics; then the services are stopped, and their drain flushes what
is still queued, before the receiver is read.
"""

import re
import signal
import subprocess
import urllib.request

import run

# Requests per measurement: several seconds at saturation on this machine.
CALLS, PAGES = 300_000, 60_000
QUICK_CALLS, QUICK_PAGES = 60_000, 12_000


def start_sink():
    port = run.free_port()
    sink = subprocess.Popen(
        ["taskset", "-c", run.LOAD_CPU, str(run.RELEASE / "otlp-sink"), "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    run.wait_until(lambda: run.tcp_open(port), "otlp-sink")
    return sink, port


def spans_received(sink):
    """Stops the sink and reads how many spans it took."""
    sink.send_signal(signal.SIGTERM)
    _, report = sink.communicate(timeout=10)
    return int(re.search(r"(\d+) spans", report).group(1))


def sdk_counts(service):
    """(queue_full drops, spans whose export failed) from the service's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{service.admin}/metrics", timeout=5).read().decode()

    def total(metric, error_type):
        return sum(float(value) for labels, value in re.findall(rf"^{metric}\{{([^}}]*)\}} (\S+)$", text, re.M)
                   if f'error_type="{error_type}"' in labels)

    return (total("otel_sdk_processor_span_processed_total", "queue_full"),
            total("otel_sdk_exporter_span_exported_total", "export_failed"))


def fixed_load(command):
    """Runs an h2load with `-n`; returns how many requests succeeded."""
    output = subprocess.run(["taskset", "-c", run.LOAD_CPU, *command], capture_output=True, text=True, check=True).stdout
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", output)
    if int(done.group(2)) or int(done.group(3)):
        raise RuntimeError(f"h2load saw failures:\n{output}")
    return int(done.group(1))


def measure(v1_body, quick=False):
    calls, pages = (QUICK_CALLS, QUICK_PAGES) if quick else (CALLS, PAGES)
    results = {}

    sink, sink_port = start_sink()
    service, grpc, _ = run.start_rust_recommendations(sink_port, run.SHIPPED)
    try:
        url = f"http://127.0.0.1:{grpc}{run.V1_PATH}"
        run.assert_grpc_works(url, v1_body)
        done = 1 + fixed_load(["h2load", "-t", "1", "-c", "4", "-m", "16", "-n", str(calls), "-d", str(v1_body),
                               "-H", "content-type: application/grpc", "-H", "te: trailers", url])
        queue_full, export_failed = sdk_counts(service)
    finally:
        service.stop()
    results["Recommend"] = dict(requests=done, made=done, received=spans_received(sink),
                                queue_full=queue_full, export_failed=export_failed)

    sink, sink_port = start_sink()
    rec, grpc, _ = run.start_rust_recommendations(sink_port, run.SHIPPED)
    market, http, _ = run.start_rust_marketplace(sink_port, run.SHIPPED, grpc)
    try:
        url = f"http://127.0.0.1:{http}/"
        if not run.page_has_books(url):
            raise RuntimeError(f"{url}: the page has no books")
        done = 1 + fixed_load(["h2load", "--h1", "-t", "1", "-c", "8", "-n", str(pages), url])
        counts = [sdk_counts(service) for service in (rec, market)]
    finally:
        market.stop()
        rec.stop()
    results["Page"] = dict(requests=done, made=3 * done, received=spans_received(sink),
                           queue_full=sum(c[0] for c in counts), export_failed=sum(c[1] for c in counts))
    for load, measured in results.items():
        print(f"delivery {load:10} {measured}", flush=True)
    return results
