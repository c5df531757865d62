//! OTLP export of spans, encoded straight from the SDK's `SpanData` to
//! protobuf bytes and sent over gRPC or HTTP, configured by the standard
//! `OTEL_EXPORTER_OTLP_*` variables. It does what `opentelemetry-otlp`'s
//! span exporter does, without building `opentelemetry-proto`'s structs for
//! every span first; `docs/benchmarks.md` has what that saves, and the
//! oracle tests hold its bytes to that crate's conversion.

mod config;
mod count;
mod encode;
mod exporter;
mod transport;

pub use config::{Config, ConfigError, Protocol, Signal};
pub use count::Exported;
pub use encode::encode_export_request;
pub use exporter::SpanExporter;
pub use transport::{HttpClient, NoRuntime};
