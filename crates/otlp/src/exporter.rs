//! The span exporter the SDK's batch processor hands its batches to: it
//! encodes each batch once, straight to OTLP bytes, sends it, and counts
//! what the collector took and what it did not.

use bytes::Bytes;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::SpanData;

use crate::config::{Config, Protocol};
use crate::count::Exported;
use crate::encode::encode_export_request;
use crate::transport::{NoRuntime, Transport};

/// See the module docs. Build it inside the tokio runtime that is to carry
/// its requests.
#[derive(Debug)]
pub struct SpanExporter {
    transport: Transport,
    /// The resource of every span, which the provider sets.
    resource: Resource,
    exported: Exported,
}

impl SpanExporter {
    pub fn new(config: &Config) -> Result<SpanExporter, NoRuntime> {
        let component = match config.protocol {
            Protocol::Grpc => "otlp_grpc_span_exporter",
            Protocol::HttpProtobuf => "otlp_http_span_exporter",
        };
        Ok(SpanExporter {
            transport: Transport::new(config)?,
            resource: Resource::builder_empty().build(),
            exported: Exported::new("span", component),
        })
    }
}

impl opentelemetry_sdk::trace::SpanExporter for SpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        // Room for a typical span, so the buffer rarely grows while written.
        let mut body = Vec::with_capacity(batch.len() * 256);
        encode_export_request(&self.resource, &batch, &mut body);
        drop(batch);
        match self.transport.send(Bytes::from(body)).await {
            Ok(rejected) => {
                let rejected = rejected.min(spans);
                self.exported.count(spans - rejected, rejected);
                Ok(())
            }
            Err(error) => {
                self.exported.count(0, spans);
                Err(OTelSdkError::InternalFailure(format!(
                    "OTLP span export failed: {error}"
                )))
            }
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.clone();
    }
}
