#!/usr/bin/env python3
"""Measures the span batch processor's settings (OTEL_BSP_*), to choose the
defaults the kit ships: for each candidate, Recommend always-on, one call
at a time (p50, p99) and saturated (throughput, and the SDK's count of spans
dropped because the queue was full, over a fixed number of calls); and the
page one at a time (p99), both services always-on.

    python3 bench/batch_settings.py [--seconds 10] [--rounds 2]

Run after `bash bench/run.sh` has built the release binaries and installed
h2load; it uses the same topology (the service on CPU 0, the load and the
receiver on CPU 1) and helpers as bench/run.py. Candidates take turns within
each round, so a slow spell of the machine falls on all of them alike.
"""

import argparse
import tempfile
import time
from pathlib import Path

import delivery
import run

# (label, OTEL_BSP_* settings); None is the SDK's default for that setting.
CANDIDATES = [
    ("SDK defaults: queue 2048, batch 512, every 5 s", {}),
    ("queue 16384, batch 512, every 1 s",
     {"OTEL_BSP_MAX_QUEUE_SIZE": "16384", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "512",
      "OTEL_BSP_SCHEDULE_DELAY": "1000"}),
    ("queue 16384, batch 1024, every 1 s",
     {"OTEL_BSP_MAX_QUEUE_SIZE": "16384", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1024",
      "OTEL_BSP_SCHEDULE_DELAY": "1000"}),
    ("queue 16384, batch 2048, every 1 s",
     {"OTEL_BSP_MAX_QUEUE_SIZE": "16384", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048",
      "OTEL_BSP_SCHEDULE_DELAY": "1000"}),
]


def page_one_at_a_time_p99(settings, seconds):
    """The page's p99 one at a time, both services always-on with `settings`."""
    sink, sink_port = delivery.start_sink()
    rec, grpc, _ = run.start_rust_recommendations(sink_port, run.SHIPPED, settings)
    market, http, _ = run.start_rust_marketplace(sink_port, run.SHIPPED, grpc, settings)
    try:
        _, _, p99 = run.wrk(f"http://127.0.0.1:{http}/", 1, seconds, 1)
    finally:
        market.stop()
        rec.stop()
        delivery.spans_received(sink)
    return p99


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    body = Path(tempfile.mkdtemp(prefix="bsp-")) / "v1.bin"
    body.write_bytes(run.V1_BODY)
    results = {label: [] for label, _ in CANDIDATES}
    for _ in range(args.rounds):
        for label, settings in CANDIDATES:
            sink, sink_port = delivery.start_sink()
            service, grpc, _ = run.start_rust_recommendations(sink_port, run.SHIPPED, settings)
            try:
                url = f"http://127.0.0.1:{grpc}{run.V1_PATH}"
                run.assert_grpc_works(url, body)
                _, p50, p99 = run.h2load(url, body, 1, 1, args.seconds, 1)
                rate, _, _ = run.h2load(url, body, 4, 16, args.seconds, 1)
                # /metrics copies the SDK's counts every second.
                time.sleep(2)
                before, _ = delivery.sdk_counts(service)
                done = delivery.fixed_load(
                    ["h2load", "-t", "1", "-c", "4", "-m", "16", "-n", str(args.calls), "-d", str(body),
                     "-H", "content-type: application/grpc", "-H", "te: trailers", url])
                time.sleep(2)
                after, _ = delivery.sdk_counts(service)
                queue_full = after - before
            finally:
                service.stop()
            delivery.spans_received(sink)
            page_p99 = page_one_at_a_time_p99(settings, args.seconds)
            results[label].append((p50, p99, rate, queue_full, done, page_p99))
            print(f"{label:45} p50 {p50:.3f} ms p99 {p99:.3f} ms | {rate:,.0f} calls/s | "
                  f"queue_full {queue_full:,.0f}", flush=True)
    print("\n| Settings | Recommend one at a time, p50 (ms) | p99 (ms) | Page one at a time, p99 (ms) "
          "| Recommend saturated (calls/s) | Spans dropped at the queue, of those made at saturation |")
    print("|---|---|---|---|---|---|")
    for label, rows in results.items():
        median = lambda i: sorted(r[i] for r in rows)[len(rows) // 2]
        dropped, made = sum(r[3] for r in rows), sum(r[4] for r in rows)
        print(f"| {label} | {median(0):.3f} | {median(1):.3f} | {median(5):.3f} | {median(2):,.0f} | "
              f"{dropped:,.0f} of {made:,} ({dropped / made:.2%}) |")


if __name__ == "__main__":
    main()
