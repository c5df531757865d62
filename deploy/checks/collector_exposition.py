"""A stand-in for the collector's two Prometheus endpoints in the native
dashboard test: the collector's own metrics (:8888) and the span-derived
ones (:8889), as Prometheus text, shaped as the pinned collector exports
them: the names in collector_metrics.py with the labels each one carries.

No collector runs here, so without this every dashboard query on collector
metrics evaluates to nothing, and a wrong label value (sampled="True", a
processor id spelt differently) would pass unnoticed. The values are made
up; the names and labels are the point, and come from the sources cited in
collector_metrics.py:

- tail sampling: `policy` is "<processor id>.<policy name>" and `sampled`
  is "true"/"false" (processor.go, 0.128/0.129);
- exporterhelper: `exporter` (the component id) and `data_type`;
  receiverhelper: `receiver`, `transport`; memory_limiter: `processor`;
- loadbalancing: `success`;
- every internal metric: `service_name`, which the collector configs add
  from service.telemetry.resource (with_resource_constant_labels);
- span metrics: service_name becomes `job` (and the service instance
  `instance`), then `span_name`, `span_kind`, `status_code`, the configured
  dimensions (`rpc_method`, `http_route`) and `le`;
- service graph: `client`, `server`, `connection_type` and `le`."""

from collector_metrics import COLLECTOR_METRICS, TRACE_DERIVED_METRICS

POLICIES = ("errors", "slow", "forced", "baseline")
SPAN_BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf")


def _line(name, labels, value):
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{text}}} {value}"


def _own_metric_lines(name, collector):
    base = {"service_name": collector}
    if "tail_sampling_count_traces_sampled" in name:
        return [_line(name, {**base, "policy": f"tail_sampling.{p}", "sampled": s}, 10)
                for p in POLICIES for s in ("true", "false")]
    if "global_count_traces_sampled" in name or "early_releases_from_cache_decision" in name:
        return [_line(name, {**base, "sampled": s}, 10) for s in ("true", "false")]
    if name.startswith("otelcol_exporter_"):
        exporters = ("loadbalancing", "otlphttp/loki") if collector == "otelcol-agent" else ("otlp/tempo",)
        return [_line(name, {**base, "exporter": e, "data_type": "traces"}, 100) for e in exporters]
    if name.startswith("otelcol_receiver_"):
        return [_line(name, {**base, "receiver": "otlp", "transport": "grpc"}, 100)]
    if name.startswith("otelcol_processor_") and "tail_sampling" not in name:
        return [_line(name, {**base, "processor": "memory_limiter"}, 1)]
    if name == "otelcol_loadbalancer_backend_outcome_total":
        return [_line(name, {**base, "success": s}, 10) for s in ("true", "false")]
    return [_line(name, base, 100)]


def collector_exposition(uptime_seconds):
    """The :8888 text of an agent and a sampler, counters growing with
    `uptime_seconds` so rate() sees them move."""
    lines = []
    for collector in ("otelcol-agent", "otelcol-sampler"):
        for name in sorted(COLLECTOR_METRICS):
            for line in _own_metric_lines(name, collector):
                head, value = line.rsplit(" ", 1)
                grows = name.endswith("_total")
                lines.append(f"{head} {float(value) * (uptime_seconds if grows else 1)}")
    return "\n".join(lines) + "\n"


def trace_metrics_exposition(uptime_seconds):
    """The :8889 text: span metrics for both services' server spans, and one
    service-graph edge."""
    n = max(uptime_seconds, 1)
    lines = []
    spans = [
        ({"job": "marketplace", "instance": "a", "span_name": "GET /", "http_route": "/"}, "SPAN_KIND_SERVER"),
        ({"job": "recommendations", "instance": "b", "span_name": "recommendations.v1.RecommendationsService/Recommend",
          "rpc_method": "recommendations.v1.RecommendationsService/Recommend"}, "SPAN_KIND_SERVER"),
    ]
    for labels, kind in spans:
        labels = {**labels, "span_kind": kind, "status_code": "STATUS_CODE_UNSET"}
        lines.append(_line("traces_span_metrics_calls_total", labels, 10 * n))
        for i, le in enumerate(SPAN_BUCKETS):
            lines.append(_line("traces_span_metrics_duration_seconds_bucket", {**labels, "le": le}, (i + 1) * n))
        lines.append(_line("traces_span_metrics_duration_seconds_sum", labels, 0.1 * n))
        lines.append(_line("traces_span_metrics_duration_seconds_count", labels, len(SPAN_BUCKETS) * n))
    edge = {"client": "marketplace", "server": "recommendations", "connection_type": ""}
    lines.append(_line("traces_service_graph_request_total", edge, 10 * n))
    lines.append(_line("traces_service_graph_request_failed_total", edge, n))
    for side in ("server", "client"):
        for i, le in enumerate(SPAN_BUCKETS):
            lines.append(_line(f"traces_service_graph_request_{side}_seconds_bucket", {**edge, "le": le}, (i + 1) * n))
        lines.append(_line(f"traces_service_graph_request_{side}_seconds_sum", edge, 0.1 * n))
        lines.append(_line(f"traces_service_graph_request_{side}_seconds_count", edge, len(SPAN_BUCKETS) * n))
    for name in ("traces_service_graph_unpaired_spans_total", "traces_service_graph_dropped_spans_total"):
        lines.append(_line(name, edge, n))
    served = {line.split("{", 1)[0] for line in lines}
    assert served <= TRACE_DERIVED_METRICS, served - TRACE_DERIVED_METRICS
    return "\n".join(lines) + "\n"
