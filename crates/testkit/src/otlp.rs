//! A real OTLP receiver for tests, over gRPC (on `opentelemetry-proto`'s
//! tonic server types) or over HTTP (protobuf bodies, decoded with the same
//! types): the services export to it exactly as they would to a collector,
//! and tests read back what arrived.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use tokio_stream::wrappers::TcpListenerStream;

/// One received span, flattened with its resource's service name.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub service_name: String,
    pub name: String,
    pub kind: i32,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub attributes: Vec<KeyValue>,
    /// `Status.code`: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
}

impl ReceivedSpan {
    pub fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.attributes, key)
    }
}

/// One received log record.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    pub service_name: String,
    pub trace_id: String,
    pub severity_text: String,
    pub body: String,
    pub attributes: Vec<KeyValue>,
}

/// Span kinds in OTLP's numbering.
pub const KIND_INTERNAL: i32 = 1;
pub const KIND_SERVER: i32 = 2;
pub const KIND_CLIENT: i32 = 3;

fn value_string(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(value_string)
}

#[derive(Default)]
struct Store {
    spans: Mutex<Vec<ReceivedSpan>>,
    logs: Mutex<Vec<ReceivedLog>>,
}

impl Store {
    fn add_spans(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.resource_spans {
            let resource = resource_spans.resource.unwrap_or_default();
            let service_name = attribute(&resource.attributes, "service.name").unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(ReceivedSpan {
                        service_name: service_name.clone(),
                        name: span.name,
                        kind: span.kind,
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        attributes: span.attributes,
                        status_code: span.status.map_or(0, |s| s.code),
                    });
                }
            }
        }
    }

    fn add_logs(&self, request: ExportLogsServiceRequest) {
        let mut logs = self.logs.lock().unwrap();
        for resource_logs in request.resource_logs {
            let resource = resource_logs.resource.unwrap_or_default();
            let service_name = attribute(&resource.attributes, "service.name").unwrap_or_default();
            for scope in resource_logs.scope_logs {
                for record in scope.log_records {
                    logs.push(ReceivedLog {
                        service_name: service_name.clone(),
                        trace_id: hex(&record.trace_id),
                        severity_text: record.severity_text,
                        body: record.body.as_ref().map(value_string).unwrap_or_default(),
                        attributes: record.attributes,
                    });
                }
            }
        }
    }
}

#[derive(Clone)]
struct Receiver(Arc<Store>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.add_spans(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.0.add_logs(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

/// OTLP/HTTP: `POST /v1/traces` and `/v1/logs` with protobuf bodies.
fn http_routes(store: Arc<Store>) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::routing::post;
    use prost::Message as _;

    /// A protobuf body, or why it is refused.
    fn decode<M: prost::Message + Default>(
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<M, (StatusCode, String)> {
        if headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            != Some("application/x-protobuf")
        {
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "want protobuf".into()));
        }
        M::decode(body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
    }
    let answer = |empty: Vec<u8>| ([(header::CONTENT_TYPE, "application/x-protobuf")], empty);
    let traces = store.clone();
    axum::Router::new()
        .route(
            "/v1/traces",
            post(
                move |headers: HeaderMap, body: axum::body::Bytes| async move {
                    let request = decode::<ExportTraceServiceRequest>(&headers, &body)?;
                    traces.add_spans(request);
                    Ok::<_, (StatusCode, String)>(answer(
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    ))
                },
            ),
        )
        .route(
            "/v1/logs",
            post(
                move |headers: HeaderMap, body: axum::body::Bytes| async move {
                    let request = decode::<ExportLogsServiceRequest>(&headers, &body)?;
                    store.add_logs(request);
                    Ok::<_, (StatusCode, String)>(answer(
                        ExportLogsServiceResponse::default().encode_to_vec(),
                    ))
                },
            ),
        )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A running receiver.
pub struct OtlpReceiver {
    pub addr: SocketAddr,
    store: Arc<Store>,
}

impl OtlpReceiver {
    /// A receiver on a fresh loopback port.
    pub async fn start() -> OtlpReceiver {
        OtlpReceiver::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// A receiver on `addr`.
    pub async fn start_on(addr: SocketAddr) -> OtlpReceiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = Arc::new(Store::default());
        let receiver = Receiver(store.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(receiver.clone()))
                .add_service(LogsServiceServer::new(receiver))
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        OtlpReceiver { addr, store }
    }

    /// An OTLP/HTTP receiver on a fresh loopback port: `endpoint()` is the
    /// base that `/v1/traces` and `/v1/logs` are added to.
    pub async fn start_http() -> OtlpReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = Arc::new(Store::default());
        let routes = http_routes(store.clone());
        tokio::spawn(async move { axum::serve(listener, routes).await });
        OtlpReceiver { addr, store }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.store.spans.lock().unwrap().clone()
    }

    /// The spans received after the first `seen`.
    pub fn spans_after(&self, seen: usize) -> Vec<ReceivedSpan> {
        let spans = self.store.spans.lock().unwrap();
        spans.get(seen..).unwrap_or_default().to_vec()
    }

    pub fn spans_of_trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        let spans = self.store.spans.lock().unwrap();
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }

    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.store.logs.lock().unwrap().clone()
    }

    /// The log records received after the first `seen`.
    pub fn logs_after(&self, seen: usize) -> Vec<ReceivedLog> {
        let logs = self.store.logs.lock().unwrap();
        logs.get(seen..).unwrap_or_default().to_vec()
    }

    /// Waits (bounded) until `done` holds for what has arrived.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&OtlpReceiver) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl ReceivedLog {
    pub fn attribute(&self, key: &str) -> Option<String> {
        attribute(&self.attributes, key)
    }
}
