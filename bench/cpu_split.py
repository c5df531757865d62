#!/usr/bin/env python3
"""Which CPU bounds the saturated Recommend run: bare against always-on.

`bench/run.py` pins the service to CPU 0 and the load generator and the OTLP
receiver to CPU 1. If always-on lost throughput because CPU 1 ran out (h2load
and the receiver of every span share it), the ratio would measure the bench,
not the service. This runs the same saturated load (h2load -c4 -m16) against
one system at a time, taking turns, and prints for each run the calls per
second, how busy each CPU was, and the service's own CPU time per call
(user and system, from /proc, its export thread included).

Needs the release binaries and h2load, as `bash bench/run.sh` leaves them:

    python3 bench/cpu_split.py [--rounds 3] [--duration 10] [--sink-nice N]

`--sink-nice 19` runs the receiver at the lowest priority, so that h2load
has the load CPU first whenever both want it: a test of whether the
receiver's work in bursts, as batches arrive, holds back the load.
"""

import argparse
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import run


def cpu_busy_ticks():
    """Per CPU: (all ticks, idle ticks) since boot, from /proc/stat."""
    ticks = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(field) for field in fields]
            ticks[name] = (sum(values), values[3] + values[4])  # idle + iowait
    return ticks


def process_cpu_seconds(pid):
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--sink-nice", type=int, default=0, help="the OTLP receiver's nice value")
    args = parser.parse_args()

    sink_port = run.free_port()
    sink = subprocess.Popen(
        ["nice", "-n", str(args.sink_nice), "taskset", "-c", run.LOAD_CPU,
         str(run.RELEASE / "otlp-sink"), "--addr", f"127.0.0.1:{sink_port}"],
        stdout=subprocess.DEVNULL,
    )
    systems = [
        ("bare", run.start_bare_recommendations),
        ("always-on", lambda: run.start_rust_recommendations(sink_port, run.SHIPPED)),
    ]
    with tempfile.NamedTemporaryFile() as body:
        body.write(run.V1_BODY)
        body.flush()
        try:
            run.wait_until(lambda: run.tcp_open(sink_port), "the OTLP sink")
            service_cpu_name, load_cpu_name = f"cpu{run.SERVICE_CPU}", f"cpu{run.LOAD_CPU}"
            print("round system      calls/s  service CPU busy  load CPU busy  service µs/call")
            for round_ in range(1, args.rounds + 1):
                for label, start in systems:
                    service, port, _ = start()
                    try:
                        url = f"http://127.0.0.1:{port}{run.V1_PATH}"
                        run.h2load(url, body.name, 4, 16, 3, 1)  # warm-up
                        cpus, service_cpu = cpu_busy_ticks(), process_cpu_seconds(service.process.pid)
                        rate, _, _ = run.h2load(url, body.name, 4, 16, args.duration, 0)
                        cpus_after = cpu_busy_ticks()
                        service_cpu = process_cpu_seconds(service.process.pid) - service_cpu
                    finally:
                        service.stop()
                    busy = {
                        name: 1 - (cpus_after[name][1] - idle) / (cpus_after[name][0] - total)
                        for name, (total, idle) in cpus.items()
                    }
                    per_call = 1e6 * service_cpu / (rate * args.duration)
                    print(
                        f"{round_:5} {label:10} {rate:9,.0f}  {busy[service_cpu_name]:16.0%}"
                        f"  {busy[load_cpu_name]:13.0%}  {per_call:15.2f}",
                        flush=True,
                    )
        finally:
            sink.send_signal(signal.SIGTERM)
            sink.wait(timeout=10)


if __name__ == "__main__":
    main()
