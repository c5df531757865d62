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

/// A random UUID (version 4), unique per process start.
fn instance_id() -> String {
    let bits: u128 = rand::random();
    // Set the version (4) and variant (RFC 4122) bits.
    let uuid = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{uuid:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids_are_uuid_v4_and_differ() {
        let (a, b) = (instance_id(), instance_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
