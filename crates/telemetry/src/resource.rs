//! The OpenTelemetry resource: who is emitting. `service.name` defaults to
//! the service's own name; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
//! override any attribute, as the specification orders them.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector as _, TelemetryResourceDetector,
};
use opentelemetry_semantic_conventions::resource::{
    DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_VERSION,
};

use crate::ServiceInfo;

/// `deployment.environment.name` unless `OTEL_RESOURCE_ATTRIBUTES` says.
const DEFAULT_ENVIRONMENT: &str = "development";

/// The resource of this process. Its `service.name` is also what the
/// `build_info` metric names (see [`service_name`]).
pub(crate) fn build(service: &ServiceInfo) -> Resource {
    let from_env = EnvResourceDetector::new().detect();
    let service_name = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .or_else(|| {
            from_env
                .get(&opentelemetry::Key::from_static_str(SERVICE_NAME))
                .map(|v| v.to_string())
        })
        .unwrap_or_else(|| service.name.clone());
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes([
            KeyValue::new(SERVICE_VERSION, service.version.clone()),
            KeyValue::new(SERVICE_INSTANCE_ID, instance_id()),
            KeyValue::new(DEPLOYMENT_ENVIRONMENT_NAME, DEFAULT_ENVIRONMENT),
        ])
        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_service_name(service_name)
        .build()
}

/// A random UUID (version 4), unique per process start, as semconv
/// recommends for `service.instance.id`.
fn instance_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `service.name` of `resource`.
pub(crate) fn service_name(resource: &Resource) -> Option<String> {
    resource
        .get(&opentelemetry::Key::from_static_str(SERVICE_NAME))
        .map(|name| name.to_string())
}
