"""The metric names, as Prometheus shows them, that the pinned collector
(contrib 0.128.0) and its span-derived connectors export. A dashboard query
on a misspelt name evaluates to nothing, not to an error, and no collector
runs where the dashboards are tested; this list is what catches it.

Names follow each component's metadata.yaml (its `telemetry.metrics`), with
the Prometheus exporters' naming: the `otelcol_` prefix the generated code
carries, `_total` on counters, a unit suffix from the unit (By -> _bytes,
s -> _seconds) unless the name already ends with it, and `{...}` units
dropped.

- CORE (open-telemetry/opentelemetry-collector, tag v0.128.0):
  exporter/exporterhelper/metadata.yaml, receiver/receiverhelper/metadata.yaml,
  processor/memorylimiterprocessor/metadata.yaml, service/metadata.yaml.
- CONTRIB (0.128.0 components as vendored by aws-observability/aws-otel-collector
  at e31698c1 and its parent, contrib 0.129.0 and 0.117.0):
  processor/tailsamplingprocessor/metadata.yaml,
  exporter/loadbalancingexporter/metadata.yaml.
- The connectors' output: connector/spanmetricsconnector (namespace
  traces.span.metrics, with histogram unit s) and
  connector/servicegraphconnector/README.md (its metrics table)."""

COLLECTOR_METRICS = {
    # CORE exporter/exporterhelper/metadata.yaml; labels exporter, data_type.
    "otelcol_exporter_sent_spans_total",
    "otelcol_exporter_send_failed_spans_total",
    "otelcol_exporter_enqueue_failed_spans_total",
    "otelcol_exporter_sent_log_records_total",
    "otelcol_exporter_send_failed_log_records_total",
    "otelcol_exporter_enqueue_failed_log_records_total",
    "otelcol_exporter_sent_metric_points_total",
    "otelcol_exporter_send_failed_metric_points_total",
    "otelcol_exporter_enqueue_failed_metric_points_total",
    "otelcol_exporter_queue_size",
    "otelcol_exporter_queue_capacity",
    # CORE receiver/receiverhelper/metadata.yaml; labels receiver, transport.
    "otelcol_receiver_accepted_spans_total",
    "otelcol_receiver_refused_spans_total",
    "otelcol_receiver_accepted_log_records_total",
    "otelcol_receiver_refused_log_records_total",
    "otelcol_receiver_accepted_metric_points_total",
    "otelcol_receiver_refused_metric_points_total",
    # CORE processor/memorylimiterprocessor/metadata.yaml; label processor.
    "otelcol_processor_accepted_spans_total",
    "otelcol_processor_refused_spans_total",
    "otelcol_processor_accepted_log_records_total",
    "otelcol_processor_refused_log_records_total",
    # CORE service/metadata.yaml.
    "otelcol_process_uptime_seconds_total",
    "otelcol_process_cpu_seconds_total",
    "otelcol_process_memory_rss_bytes",
    "otelcol_process_runtime_heap_alloc_bytes",
    "otelcol_process_runtime_total_alloc_bytes_total",
    "otelcol_process_runtime_total_sys_memory_bytes",
    # CONTRIB processor/tailsamplingprocessor/metadata.yaml; labels policy
    # ("<processor id>.<policy name>") and sampled ("true"/"false").
    "otelcol_processor_tail_sampling_count_traces_sampled_total",
    "otelcol_processor_tail_sampling_global_count_traces_sampled_total",
    "otelcol_processor_tail_sampling_sampling_trace_dropped_too_early_total",
    "otelcol_processor_tail_sampling_new_trace_id_received_total",
    "otelcol_processor_tail_sampling_sampling_traces_on_memory",
    "otelcol_processor_tail_sampling_early_releases_from_cache_decision_total",
    "otelcol_processor_tail_sampling_sampling_policy_evaluation_error_total",
    # CONTRIB exporter/loadbalancingexporter/metadata.yaml.
    "otelcol_loadbalancer_num_backends",
    "otelcol_loadbalancer_num_resolutions_total",
    "otelcol_loadbalancer_num_backend_updates_total",
    "otelcol_loadbalancer_backend_outcome_total",
}

TRACE_DERIVED_METRICS = {
    # spanmetrics connector through the prometheus exporter.
    "traces_span_metrics_calls_total",
    "traces_span_metrics_duration_seconds_bucket",
    "traces_span_metrics_duration_seconds_sum",
    "traces_span_metrics_duration_seconds_count",
    # servicegraph connector (its README's metrics table).
    "traces_service_graph_request_total",
    "traces_service_graph_request_failed_total",
    "traces_service_graph_request_server_seconds_bucket",
    "traces_service_graph_request_server_seconds_sum",
    "traces_service_graph_request_server_seconds_count",
    "traces_service_graph_request_client_seconds_bucket",
    "traces_service_graph_request_client_seconds_sum",
    "traces_service_graph_request_client_seconds_count",
    "traces_service_graph_unpaired_spans_total",
    "traces_service_graph_dropped_spans_total",
}
