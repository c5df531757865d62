"""The configuration keys each collector component accepts in the pinned
release, OpenTelemetry Collector contrib 0.128.0. The collector refuses to
start on a key it does not know; no collector runs here, so the deploy
checks compare every config against these lists instead.

Where the keys come from (the `mapstructure` tags of each config struct):

- CORE: open-telemetry/opentelemetry-collector at tag v0.128.0, the core
  modules contrib 0.128.0 is built with; files named per schema below.
- CONTRIB: open-telemetry/opentelemetry-collector-contrib components as
  vendored by aws-observability/aws-otel-collector at commit e31698c1
  (contrib v0.129.0) and at its parent (contrib v0.117.0). Only keys present
  in both are listed, so each one is in 0.128.0.
- SPANMETRICS, SERVICEGRAPH: aws-otel-collector does not vendor these; their
  keys come from stored copies of contrib's connector/*/config.go from the
  0.12x line (they carry the v0.124.0 deprecations), minus every key whose
  first release could not be dated to 0.128.0 or earlier.

The lists are conservative: a key that exists in 0.128.0 but is missing
here fails the test until someone checks its source and adds it."""

# A schema is one of:
#   None          any value, not looked into;
#   dict          a mapping whose keys must be listed, each with its schema;
#   ("list", s)   a list whose items follow s;
#   ("map", s)    a mapping with free keys whose values follow s.
ANY = None


def listof(schema):
    return ("list", schema)


def mapof(schema):
    return ("map", schema)


# config/configtls/configtls.go (CORE): Config, ClientConfig, ServerConfig.
_TLS = {
    "ca_file": ANY, "ca_pem": ANY, "include_system_ca_certs_pool": ANY, "cert_file": ANY,
    "cert_pem": ANY, "key_file": ANY, "key_pem": ANY, "min_version": ANY, "max_version": ANY,
    "cipher_suites": ANY, "reload_interval": ANY, "curve_preferences": ANY, "tpm": ANY,
}
TLS_CLIENT = {**_TLS, "insecure": ANY, "insecure_skip_verify": ANY, "server_name_override": ANY}
TLS_SERVER = {**_TLS, "client_ca_file": ANY, "client_ca_file_reload": ANY}

# config/configgrpc/configgrpc.go (CORE): ClientConfig, ServerConfig,
# KeepaliveServerConfig; config/confignet/confignet.go (CORE): AddrConfig.
GRPC_CLIENT = {
    "endpoint": ANY, "compression": ANY, "tls": TLS_CLIENT,
    "keepalive": {"time": ANY, "timeout": ANY, "permit_without_stream": ANY},
    "read_buffer_size": ANY, "write_buffer_size": ANY, "wait_for_ready": ANY, "headers": ANY,
    "balancer_name": ANY, "authority": ANY, "auth": ANY, "middlewares": ANY,
}
GRPC_SERVER = {
    "endpoint": ANY, "transport": ANY, "dialer": {"timeout": ANY}, "tls": TLS_SERVER,
    "max_recv_msg_size_mib": ANY, "max_concurrent_streams": ANY,
    "read_buffer_size": ANY, "write_buffer_size": ANY,
    "keepalive": {
        "server_parameters": {
            "max_connection_idle": ANY, "max_connection_age": ANY, "max_connection_age_grace": ANY,
            "time": ANY, "timeout": ANY,
        },
        "enforcement_policy": {"min_time": ANY, "permit_without_stream": ANY},
    },
    "auth": ANY, "include_metadata": ANY, "middlewares": ANY,
}

# config/confighttp/confighttp.go (CORE): ClientConfig, ServerConfig.
HTTP_CLIENT = {
    "endpoint": ANY, "proxy_url": ANY, "tls": TLS_CLIENT, "read_buffer_size": ANY,
    "write_buffer_size": ANY, "timeout": ANY, "headers": ANY, "auth": ANY, "compression": ANY,
    "compression_params": ANY, "max_idle_conns": ANY, "max_idle_conns_per_host": ANY,
    "max_conns_per_host": ANY, "idle_conn_timeout": ANY, "disable_keep_alives": ANY,
    "http2_read_idle_timeout": ANY, "http2_ping_timeout": ANY, "cookies": {"enabled": ANY},
    "middleware": ANY,
}
HTTP_SERVER = {
    "endpoint": ANY, "tls": TLS_SERVER, "cors": ANY, "auth": ANY, "max_request_body_size": ANY,
    "include_metadata": ANY, "response_headers": ANY, "compression_algorithms": ANY,
    "read_timeout": ANY, "read_header_timeout": ANY, "write_timeout": ANY, "idle_timeout": ANY,
    "middleware": ANY,
}

# exporter/exporterhelper/internal/queuebatch/config.go and
# config/configretry/backoff.go (CORE).
SENDING_QUEUE = {
    "enabled": ANY, "wait_for_result": ANY, "sizer": ANY, "queue_size": ANY,
    "block_on_overflow": ANY, "blocking": ANY, "storage": ANY, "num_consumers": ANY,
    "batch": {"flush_timeout": ANY, "min_size": ANY, "max_size": ANY},
}
RETRY = {
    "enabled": ANY, "initial_interval": ANY, "randomization_factor": ANY, "multiplier": ANY,
    "max_interval": ANY, "max_elapsed_time": ANY,
}

# exporter/otlpexporter/config.go (CORE): TimeoutConfig squashed (timeout),
# sending_queue, retry_on_failure, configgrpc.ClientConfig squashed, batcher.
OTLP_EXPORTER = {
    "timeout": ANY, "sending_queue": SENDING_QUEUE, "retry_on_failure": RETRY, "batcher": ANY,
    **GRPC_CLIENT,
}

# Tail sampling policies: processor/tailsamplingprocessor/config.go
# (CONTRIB): PolicyCfg, sharedPolicyCfg and each policy's config struct.
_SHARED_POLICY = {
    "name": ANY, "type": ANY,
    "latency": {"threshold_ms": ANY, "upper_threshold_ms": ANY},
    "numeric_attribute": {"key": ANY, "min_value": ANY, "max_value": ANY, "invert_match": ANY},
    "probabilistic": {"hash_salt": ANY, "sampling_percentage": ANY},
    "status_code": {"status_codes": ANY},
    "string_attribute": {
        "key": ANY, "values": ANY, "enabled_regex_matching": ANY, "cache_max_size": ANY,
        "invert_match": ANY,
    },
    "rate_limiting": {"spans_per_second": ANY},
    "span_count": {"min_spans": ANY, "max_spans": ANY},
    "trace_state": {"key": ANY, "values": ANY},
    "boolean_attribute": {"key": ANY, "value": ANY, "invert_match": ANY},
    "ottl_condition": {"error_mode": ANY, "span": ANY, "spanevent": ANY},
}
TAIL_SAMPLING_POLICY = {
    **_SHARED_POLICY,
    "composite": ANY,
    "and": {"and_sub_policy": listof(_SHARED_POLICY)},
}

SCHEMAS = {
    "receivers": {
        # receiver/otlpreceiver/config.go (CORE): Protocols, HTTPConfig.
        "otlp": {
            "protocols": {
                "grpc": GRPC_SERVER,
                "http": {**HTTP_SERVER, "traces_url_path": ANY, "metrics_url_path": ANY, "logs_url_path": ANY},
            },
        },
    },
    "processors": {
        # internal/memorylimiter/config.go (CORE).
        "memory_limiter": {
            "check_interval": ANY, "min_gc_interval_when_soft_limited": ANY,
            "min_gc_interval_when_hard_limited": ANY, "limit_mib": ANY, "spike_limit_mib": ANY,
            "limit_percentage": ANY, "spike_limit_percentage": ANY,
        },
        # processor/batchprocessor/config.go (CORE).
        "batch": {
            "timeout": ANY, "send_batch_size": ANY, "send_batch_max_size": ANY,
            "metadata_keys": ANY, "metadata_cardinality_limit": ANY,
        },
        # processor/tailsamplingprocessor/config.go (CONTRIB): Config,
        # DecisionCacheConfig. Not listed: sample_on_first_match (in 0.129,
        # not in 0.117) and decision_wait_after_root_received (0.144).
        "tail_sampling": {
            "decision_wait": ANY, "num_traces": ANY, "expected_new_traces_per_sec": ANY,
            "policies": listof(TAIL_SAMPLING_POLICY),
            "decision_cache": {"sampled_cache_size": ANY, "non_sampled_cache_size": ANY},
        },
        # processor/k8sattributesprocessor/config.go and
        # internal/k8sconfig/config.go (CONTRIB). Not listed: otel_annotations
        # (in 0.129, not in 0.117).
        "k8sattributes": {
            "auth_type": ANY, "context": ANY, "passthrough": ANY,
            "extract": {
                "metadata": ANY,
                "annotations": listof({"tag_name": ANY, "key": ANY, "key_regex": ANY, "from": ANY}),
                "labels": listof({"tag_name": ANY, "key": ANY, "key_regex": ANY, "from": ANY}),
            },
            "filter": {
                "node": ANY, "node_from_env_var": ANY, "namespace": ANY,
                "fields": listof({"key": ANY, "value": ANY, "op": ANY}),
                "labels": listof({"key": ANY, "value": ANY, "op": ANY}),
            },
            "pod_association": listof({"sources": listof({"from": ANY, "name": ANY})}),
            "exclude": {"pods": listof({"name": ANY})},
            "wait_for_metadata": ANY, "wait_for_metadata_timeout": ANY,
        },
    },
    "connectors": {
        # connector/forwardconnector/forward.go (CORE): no settings.
        "forward": {},
        # connector/spanmetricsconnector/config.go (SPANMETRICS).
        "spanmetrics": {
            "dimensions": listof({"name": ANY, "default": ANY}),
            "exclude_dimensions": ANY, "dimensions_cache_size": ANY,
            "resource_metrics_cache_size": ANY, "resource_metrics_key_attributes": ANY,
            "aggregation_temporality": ANY,
            "histogram": {
                "disable": ANY, "unit": ANY, "exponential": {"max_size": ANY},
                "explicit": {"buckets": ANY},
            },
            "metrics_flush_interval": ANY, "metrics_expiration": ANY,
            "metric_timestamp_cache_size": ANY, "namespace": ANY,
            "exemplars": {"enabled": ANY, "max_per_data_point": ANY},
            "events": {"enabled": ANY, "dimensions": listof({"name": ANY, "default": ANY})},
        },
        # connector/servicegraphconnector/config.go (SERVICEGRAPH).
        "servicegraph": {
            "latency_histogram_buckets": ANY, "dimensions": ANY,
            "store": {"max_items": ANY, "ttl": ANY},
            "cache_loop": ANY, "store_expiration_loop": ANY,
            "virtual_node_peer_attributes": ANY, "virtual_node_extra_label": ANY,
            "metrics_flush_interval": ANY, "database_name_attribute": ANY,
        },
    },
    "exporters": {
        "otlp": OTLP_EXPORTER,
        # exporter/otlphttpexporter/config.go (CORE).
        "otlphttp": {
            **HTTP_CLIENT, "sending_queue": SENDING_QUEUE, "retry_on_failure": RETRY,
            "traces_endpoint": ANY, "metrics_endpoint": ANY, "logs_endpoint": ANY, "encoding": ANY,
        },
        # exporter/prometheusexporter/config.go (CONTRIB).
        "prometheus": {
            **HTTP_SERVER, "namespace": ANY, "const_labels": ANY, "send_timestamps": ANY,
            "metric_expiration": ANY, "resource_to_telemetry_conversion": {"enabled": ANY},
            "enable_open_metrics": ANY, "add_metric_suffixes": ANY,
        },
        # exporter/loadbalancingexporter/config.go (CONTRIB). Not listed:
        # routing_attributes and the k8s resolver's return_hostnames (in
        # 0.129, not in 0.117).
        "loadbalancing": {
            "timeout": ANY, "retry_on_failure": RETRY, "sending_queue": SENDING_QUEUE,
            "protocol": {"otlp": OTLP_EXPORTER},
            "resolver": {
                "static": {"hostnames": ANY},
                "dns": {"hostname": ANY, "port": ANY, "interval": ANY, "timeout": ANY},
                "k8s": {"service": ANY, "ports": ANY, "timeout": ANY},
                "aws_cloud_map": {
                    "namespace": ANY, "service_name": ANY, "health_status": ANY,
                    "interval": ANY, "timeout": ANY, "port": ANY,
                },
            },
            "routing_key": ANY,
        },
    },
    "extensions": {
        # extension/healthcheckextension/config.go (CONTRIB).
        "health_check": {
            **HTTP_SERVER, "path": ANY, "response_body": {"healthy": ANY, "unhealthy": ANY},
            "check_collector_pipeline": {"enabled": ANY, "interval": ANY, "exporter_failure_threshold": ANY},
        },
    },
}

# service/service.go, service/pipelines/config.go, service/telemetry/config.go
# and service/telemetry/internal/migration/v0.3.0.go (CORE); the metric
# readers are go.opentelemetry.io/contrib/otelconf/v0.3.0 (module v0.16.0,
# which core 0.128.0 requires): MeterProvider, MetricReader, PullMetricReader,
# Prometheus, IncludeExclude.
_PROMETHEUS_READER = {
    "host": ANY, "port": ANY, "without_units": ANY, "without_type_suffix": ANY,
    "without_scope_info": ANY, "with_resource_constant_labels": {"included": ANY, "excluded": ANY},
}
SERVICE = {
    "extensions": ANY,
    "pipelines": mapof({"receivers": ANY, "processors": ANY, "exporters": ANY}),
    "telemetry": {
        "resource": ANY,
        "logs": {
            "level": ANY, "development": ANY, "encoding": ANY, "disable_caller": ANY,
            "disable_stacktrace": ANY, "sampling": ANY, "output_paths": ANY,
            "error_output_paths": ANY, "initial_fields": ANY, "processors": ANY,
        },
        "metrics": {
            "level": ANY, "views": ANY,
            "readers": listof({
                "periodic": ANY, "producers": ANY,
                "pull": {"exporter": {"prometheus": _PROMETHEUS_READER}},
            }),
        },
        "traces": ANY,
    },
}

TOP_LEVEL = ("receivers", "processors", "exporters", "connectors", "extensions", "service")


def unknown_keys(value, schema, where):
    """Every path under `value` that `schema` does not allow."""
    if schema is None:
        return []
    if isinstance(schema, tuple):
        kind, inner = schema
        if kind == "list":
            if not isinstance(value, list):
                return [f"{where}: expected a list"]
            return [p for i, item in enumerate(value) for p in unknown_keys(item, inner, f"{where}[{i}]")]
        if value is None:
            return []
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping"]
        return [p for k, v in value.items() for p in unknown_keys(v, inner, f"{where}.{k}")]
    if value is None:
        return []  # An empty component section: the component's defaults.
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping"]
    found = []
    for key, item in value.items():
        if key not in schema:
            found.append(f"{where}.{key}")
        else:
            found.extend(unknown_keys(item, schema[key], f"{where}.{key}"))
    return found


def config_problems(config):
    """Unknown top-level sections, component types and keys in a collector
    config, as paths."""
    problems = [f"{key}: not a collector config section" for key in config if key not in TOP_LEVEL]
    for section, types in SCHEMAS.items():
        for component_id, body in (config.get(section) or {}).items():
            component_type = component_id.split("/", 1)[0]
            if component_type not in types:
                problems.append(f"{section}.{component_id}: no key list for type {component_type!r}")
                continue
            problems.extend(unknown_keys(body, types[component_type], f"{section}.{component_id}"))
    problems.extend(unknown_keys(config.get("service"), SERVICE, "service"))
    return problems
