"""The capacity model of docs/capacity.md as code: from the services'
measured costs (bench/capacity.py) and the published collector and Tempo
figures the doc cites, the worked example at 1k, 10k and 100k pages/s."""

from collections import defaultdict

# Published figures and settings the worked example takes; docs/capacity.md
# cites each one. Change them there and here together.

# Collector spans per second per core, planning figures (docs/capacity.md,
# "Published figures"): the agent receives, enriches, derives span metrics
# and forwards; the sampler also holds and decides.
AGENT_SPANS_PER_CORE = 10_000
SAMPLER_SPANS_PER_CORE = 8_000
# The HPAs' target: 70 % of the CPU request.
HPA_TARGET = 0.70
# The services' CPU request in deploy/k8s/base/*.yaml.
SERVICE_CPU_REQUEST = 0.050
# tail_sampling holds a trace from its first span for decision_wait, plus up
# to a second of decision batching (deploy/k8s/base/otel-collector/sampler.yaml).
HOLD_SECONDS = 10 + 1
# Heap per held trace: an estimate, 3 x its OTLP bytes (pdata's Go structs,
# one resource copy per arriving batch) plus 1 KiB of bookkeeping.
HELD_BYTES_FACTOR, HELD_BYTES_OVERHEAD = 3, 1024
# Per decision-cache entry (a trace id in an LRU list and map): an estimate.
CACHE_ENTRY_BYTES = 120
# A collector process's own baseline heap, and the Go GC's headroom over
# the live heap that GOMEMLIMIT lets it use.
SAMPLER_BASE_MIB, GC_HEADROOM = 100, 1.5
# Share of traces kept with the services at their SLO budgets: 10 % baseline,
# plus the errors (0.1 %) and slow requests (1 %) it did not already keep.
BASELINE, ERROR_SHARE, SLOW_SHARE = 0.10, 0.001, 0.01
KEPT_SHARE = BASELINE + (1 - BASELINE) * (ERROR_SHARE + SLOW_SHARE)
# Tempo's sizing guide: received MB/s per replica (ingester: the middle of 3-5).
TEMPO_DISTRIBUTOR_MBPS, TEMPO_INGESTER_MBPS, TEMPO_QUERIER_MBPS = 10, 4, 1.5
# Per scale: (pages/s, agent CPU request, cores per sampler replica).
SCALES = [(1_000, 0.5, 1), (10_000, 1, 2), (100_000, 2, 4)]


def ceil(x):
    return int(-(-x // 1))


def print_model(spans_per_page, bytes_per_page, cpu_per_page):
    print("\n## Worked example (docs/capacity.md's model)\n")
    print(f"Inputs measured above: {spans_per_page:.2f} spans and {bytes_per_page:,.0f} OTLP bytes per page trace; "
          + ", ".join(f"{name} {cpu * 1e6:.1f} µs CPU per page" for name, cpu in cpu_per_page.items())
          + f". Published planning figures: agent {AGENT_SPANS_PER_CORE:,} spans/s per core, sampler "
          f"{SAMPLER_SPANS_PER_CORE:,}; HPA target {HPA_TARGET:.0%} of the CPU request; kept share {KEPT_SHARE:.1%}.\n")
    print("| | " + " | ".join(f"{p:,} pages/s" for p, _, _ in SCALES) + " |")
    print("|---|" + "---|" * len(SCALES))
    rows = defaultdict(list)
    for pages, agent_request, sampler_cores in SCALES:
        spans = pages * spans_per_page
        for name, cpu in cpu_per_page.items():
            per_pod = HPA_TARGET * SERVICE_CPU_REQUEST / cpu
            rows[f"{name}: cores; pods at the HPA target ({SERVICE_CPU_REQUEST * 1000:.0f}m request)"].append(
                f"{pages * cpu:.1f}; {max(2, ceil(pages / per_pod))} ({per_pod:,.0f} pages/s each)")
        rows["spans/s into the agents"].append(f"{spans:,.0f}")
        agent_cores = spans / AGENT_SPANS_PER_CORE
        agent_pods = max(2, ceil(agent_cores / (HPA_TARGET * agent_request)))
        rows["agents: cores; replicas at the HPA target (CPU request)"].append(
            f"{agent_cores:.1f}; {agent_pods} ({agent_request * 1000:.0f}m)")
        sampler_capacity = HPA_TARGET * SAMPLER_SPANS_PER_CORE * sampler_cores
        samplers = max(2, ceil(spans / sampler_capacity))
        traces_each = pages / samplers
        held = traces_each * HOLD_SECONDS
        num_traces = ceil(2 * held / 1000) * 1000
        cache = 10 * num_traces
        live = (held * (HELD_BYTES_FACTOR * bytes_per_page + HELD_BYTES_OVERHEAD)
                + 2 * cache * CACHE_ENTRY_BYTES) / 2**20
        memory = (SAMPLER_BASE_MIB + live) * GC_HEADROOM
        rows["samplers: replicas x cores"].append(f"{samplers} x {sampler_cores}")
        rows["sampler: expected_new_traces_per_sec; num_traces; decision caches"].append(
            f"{traces_each:,.0f}; {num_traces:,}; {cache:,} each")
        rows["sampler memory: held traces + caches, live; with GC headroom"].append(
            f"{held:,.0f} traces, {live:,.0f} MiB; {memory:,.0f} MiB")
        kept = pages * KEPT_SHARE * bytes_per_page
        rows["Tempo ingest: MB/s; per day"].append(f"{kept / 1e6:.2f}; {kept * 86_400 / 1e9:,.1f} GB")
        rows["Tempo distributors / ingesters / queriers"].append(
            " / ".join(str(max(1, ceil(kept / 1e6 / mbps)))
                       for mbps in (TEMPO_DISTRIBUTOR_MBPS, TEMPO_INGESTER_MBPS, TEMPO_QUERIER_MBPS)))
    for label, cells in rows.items():
        print(f"| {label} | " + " | ".join(cells) + " |")

