//! What the gRPC server and client layers share: status classification, and
//! the record of one call that is finished (metric, span status, error log)
//! when its response body ends, since a gRPC status arrives in the trailers.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, ContextGuard, KeyValue};
use tonic::Code;

use crate::call_span::CallTracer;
use crate::instruments::{Cache, Histograms};

/// The label value for anything outside the known set: unknown methods and
/// routes share it, so no client can mint new series.
pub(crate) const OTHER: &str = "_OTHER";

/// `rpc.system.name`, and the span name of a call to no known method.
const SYSTEM: &str = "grpc";

/// The canonical name of a gRPC code, as OpenTelemetry's
/// `rpc.response.status_code` spells it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Codes that mean the server failed, per the OpenTelemetry gRPC
/// conventions. The rest (NOT_FOUND, INVALID_ARGUMENT, ...) are the client's
/// doing and do not make a server span an error.
pub(crate) fn is_server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The `rpc.method` of a `/package.Service/Method` path: the path without
/// its leading slash, if it names a service and a method.
pub(crate) fn method_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix('/')?;
    let (service, method) = name.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/')).then_some(name)
}

/// Which end of a call is being recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

impl Side {
    fn metric(self) -> &'static str {
        match self {
            Side::Server => crate::prometheus::names::RPC_SERVER_DURATION,
            Side::Client => crate::prometheus::names::RPC_CLIENT_DURATION,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }

    fn span_kind(self) -> SpanKind {
        match self {
            Side::Server => SpanKind::Server,
            Side::Client => SpanKind::Client,
        }
    }
}

/// What every call of one gRPC method shares: its fully-qualified name
/// (`rpc.method`, `package.Service/Method`, also the span name), and a
/// histogram handle per status code, registered on first use.
pub(crate) struct Method {
    path: Box<str>,
    /// `_OTHER` for a path that names no method.
    name: Arc<str>,
    histograms: Histograms<17>,
}

impl Method {
    fn new(path: &str) -> Method {
        Method {
            path: path.into(),
            name: method_name(path).unwrap_or(OTHER).into(),
            histograms: Histograms::default(),
        }
    }

    fn is_other(&self) -> bool {
        &*self.name == OTHER
    }
}

/// The methods one layer has seen, for one side of the call, and the
/// tracer its spans come from.
pub(crate) struct Methods {
    side: Side,
    tracer: CallTracer,
    cache: Cache<Method>,
    other: Arc<Method>,
}

impl std::fmt::Debug for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Methods")
            .field("side", &self.side)
            .field("cache", &self.cache)
            .finish()
    }
}

impl Methods {
    pub(crate) fn new(side: Side) -> Methods {
        Methods {
            side,
            tracer: CallTracer::new(),
            cache: Cache::default(),
            other: Arc::new(Method::new(OTHER)),
        }
    }

    /// The entry for `path` and whether it is cached: the cached one, or a
    /// new one that is cached only once a call to it is served (see
    /// [`CallRecord::finish`]).
    fn lookup(&self, path: &str) -> (Arc<Method>, bool) {
        match self.cache.get(path) {
            Some(method) => (method, true),
            None => (Arc::new(Method::new(path)), false),
        }
    }
}

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

/// One call in flight. Finishing it records everything exactly once.
pub(crate) struct CallRecord {
    methods: Arc<Methods>,
    method: Arc<Method>,
    cached: bool,
    /// The context that holds the call's span.
    cx: OtelContext,
    start: Instant,
}

impl CallRecord {
    /// Starts the span of a call to `path` under `parent`, and the clock.
    /// `extra` attributes, asked for only when the span is recorded, follow
    /// the standard ones. `rpc.method` waits for the outcome (see
    /// [`CallRecord::finish`]), which tells whether the method exists.
    pub(crate) fn start(
        methods: &Arc<Methods>,
        path: &str,
        parent: &OtelContext,
        extra: impl FnOnce() -> Option<KeyValue>,
    ) -> CallRecord {
        let (method, cached) = methods.lookup(path);
        let cx = methods.tracer.start(methods.side.span_kind(), parent, || {
            let mut attributes = Vec::with_capacity(2);
            attributes.push(KeyValue::new("rpc.system.name", SYSTEM));
            attributes.extend(extra());
            let name = if method.is_other() {
                SYSTEM.into()
            } else {
                method.name.to_string().into()
            };
            (name, attributes)
        });
        CallRecord {
            methods: methods.clone(),
            method,
            cached,
            cx,
            start: Instant::now(),
        }
    }

    /// The context that holds the call's span, for the call to run in.
    pub(crate) fn context(&self) -> &OtelContext {
        &self.cx
    }

    /// Makes the call's span the current context until the guard drops.
    pub(crate) fn attach(&self) -> ContextGuard {
        self.cx.clone().attach()
    }

    /// Finishes the call if `headers` (the trailers, or the headers of a
    /// trailers-only answer) carry its gRPC status; otherwise hands the
    /// record back. OK, by far the most common, is read without tonic's
    /// full parse of the message, details and metadata.
    pub(crate) fn finish_if_status(self, headers: &http::HeaderMap) -> Option<CallRecord> {
        // Most calls pass here twice: first with the response headers, which
        // carry no status, then with the trailers. Without a status there is
        // nothing for tonic to parse.
        let Some(status) = headers.get(GRPC_STATUS) else {
            return Some(self);
        };
        if status.as_bytes() == b"0" {
            self.finish(Code::Ok, "");
            return None;
        }
        match tonic::Status::from_header_map(headers) {
            Some(status) => {
                self.finish(status.code(), status.message());
                None
            }
            None => Some(self),
        }
    }

    /// Records the call's outcome: its metric, span status and, for a
    /// non-OK code, one log line.
    pub(crate) fn finish(self, code: Code, message: &str) {
        let side = self.methods.side;
        // An unknown method is answered by the router, not a handler: it gets
        // the shared _OTHER entry, or every probe of a random path would mint
        // a new series. Served methods are remembered.
        let method = if code == Code::Unimplemented {
            &self.methods.other
        } else {
            if !self.cached {
                self.methods
                    .cache
                    .insert(&self.method.path, self.method.clone());
            }
            &self.method
        };
        let name = code_name(code);
        method
            .histograms
            .get(code as usize, || {
                metrics::histogram!(
                    side.metric(),
                    "rpc_system_name" => SYSTEM,
                    "rpc_method" => method.name.to_string(),
                    "rpc_response_status_code" => name,
                )
            })
            .record(self.start.elapsed().as_secs_f64());

        let span = self.cx.span();
        if span.is_recording() {
            span.set_attributes([
                KeyValue::new("rpc.method", method.name.clone()),
                KeyValue::new("rpc.response.status_code", name),
            ]);
            // Per the RPC conventions, a method the server does not know is
            // `_OTHER`, named by the system, with what was asked for beside.
            if method.is_other() {
                span.update_name(SYSTEM);
                span.set_attribute(KeyValue::new(
                    "rpc.method_original",
                    self.method
                        .path
                        .strip_prefix('/')
                        .unwrap_or(&self.method.path)
                        .to_owned(),
                ));
            }
            // A client span is an error for any non-OK code; a server span
            // only for server faults.
            if code != Code::Ok && (side == Side::Client || is_server_fault(code)) {
                span.set_status(Status::error(message.to_owned()));
            }
        }
        if code != Code::Ok {
            let _current = self.attach();
            let method = &*method.name;
            if is_server_fault(code) {
                tracing::error!(
                    rpc.side = side.label(),
                    rpc.method = method,
                    rpc.response.status_code = name,
                    error.message = message,
                    "gRPC call failed"
                );
            } else {
                tracing::warn!(
                    rpc.side = side.label(),
                    rpc.method = method,
                    rpc.response.status_code = name,
                    error.message = message,
                    "gRPC call failed"
                );
            }
        }
        span.end();
    }
}

pin_project_lite::pin_project! {
    /// A response body that finishes its call when the trailers (or the end
    /// of the stream) arrive, or when it is dropped early.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        record: Option<CallRecord>,
    }

    impl<B> PinnedDrop for ObservedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(record) = this.project().record.take() {
                record.finish(Code::Cancelled, "response body dropped before the end");
            }
        }
    }
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(inner: B, record: Option<CallRecord>) -> ObservedBody<B> {
        ObservedBody { inner, record }
    }
}

impl<B> Body for ObservedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(record) = this.record.take()
                    && let Some(record) = record.finish_if_status(trailers)
                {
                    record.finish(Code::Unknown, "trailers without grpc-status");
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(record) = this.record.take() {
                    record.finish(Code::Unknown, &error.to_string());
                }
            }
            Poll::Ready(None) => {
                if let Some(record) = this.record.take() {
                    record.finish(Code::Unknown, "stream ended without grpc-status");
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_the_path_without_its_slash() {
        assert_eq!(
            method_name("/recommendations.v1.RecommendationsService/Recommend"),
            Some("recommendations.v1.RecommendationsService/Recommend")
        );
        assert_eq!(
            method_name("/Recommendations/Recommend"),
            Some("Recommendations/Recommend")
        );
        for bad in [
            "",
            "/",
            "//",
            "/svc",
            "/svc/",
            "//m",
            "/svc/a/b",
            "no-slash/x",
        ] {
            assert_eq!(method_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_server_fault_codes_are_server_faults() {
        let faults = [
            Code::Unknown,
            Code::DeadlineExceeded,
            Code::Unimplemented,
            Code::Internal,
            Code::Unavailable,
            Code::DataLoss,
        ];
        for code in faults {
            assert!(is_server_fault(code), "{code:?}");
        }
        for code in [
            Code::Ok,
            Code::NotFound,
            Code::InvalidArgument,
            Code::Cancelled,
            Code::ResourceExhausted,
        ] {
            assert!(!is_server_fault(code), "{code:?}");
        }
    }

    #[test]
    fn code_names_are_the_canonical_constants() {
        assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::Ok), "OK");
    }
}
