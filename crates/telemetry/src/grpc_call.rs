//! What the gRPC server and client layers share: status classification,
//! the methods a layer knows, and the [`Recorder`] of one call, whose
//! outcome arrives in the trailers of the response body, so the body
//! ([`ObservedBody`]) finishes the call.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    RPC_METHOD, RPC_METHOD_ORIGINAL, RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME, SERVER_ADDRESS,
    SERVER_PORT,
};
use tonic::Code;

use crate::call::{Call, Recorder};
use crate::call_span::CallTracer;
use crate::instruments::{Cache, Histograms, prometheus_label};

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

    /// Why a call dropped before its deadline ended, seen from this side.
    fn cancelled(self) -> &'static str {
        match self {
            Side::Server => {
                "dropped before its answer: the client cancelled, or the server stopped"
            }
            Side::Client => "the caller stopped waiting",
        }
    }
}

/// What every call of one gRPC method shares: its fully-qualified name
/// (`rpc.method`, `package.Service/Method`, also the span name), and a
/// histogram handle per status code, registered on first use.
pub(crate) struct Method {
    /// `_OTHER` for a method the layer does not know.
    name: Arc<str>,
    histograms: Histograms<17>,
}

impl Method {
    fn new(name: &str) -> Method {
        Method {
            name: name.into(),
            histograms: Histograms::default(),
        }
    }

    fn is_other(&self) -> bool {
        &*self.name == OTHER
    }
}

/// Where a client's calls go: `server.address` and `server.port`.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) address: Arc<str>,
    pub(crate) port: u16,
}

/// The methods one layer knows, for one side of the call, and the tracer
/// its spans come from.
///
/// A server knows the methods it serves from the start, so a call is named
/// when its span starts, and a call to anything else is `_OTHER`, which no
/// client can use to mint new series. A client learns its methods as it
/// calls them: they come from its own code.
pub(crate) struct Methods {
    side: Side,
    tracer: CallTracer,
    cache: Cache<Method>,
    other: Arc<Method>,
    upstream: Option<Upstream>,
}

impl std::fmt::Debug for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Methods")
            .field("side", &self.side)
            .field("cache", &self.cache)
            .field("upstream", &self.upstream)
            .finish()
    }
}

impl Methods {
    /// The methods a server serves, by full name (`package.Service/Method`).
    pub(crate) fn served<I, S>(tracer: CallTracer, served: I) -> Methods
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let methods = Methods::new(Side::Server, tracer, None);
        for name in served {
            let name = name.as_ref();
            methods.cache.insert(name, Arc::new(Method::new(name)));
        }
        methods
    }

    /// The methods a client calls on `upstream`, learnt as it calls them.
    pub(crate) fn called(tracer: CallTracer, upstream: Upstream) -> Methods {
        Methods::new(Side::Client, tracer, Some(upstream))
    }

    fn new(side: Side, tracer: CallTracer, upstream: Option<Upstream>) -> Methods {
        Methods {
            side,
            tracer,
            cache: Cache::default(),
            other: Arc::new(Method::new(OTHER)),
            upstream,
        }
    }

    /// The entry of the method `path` names.
    fn lookup(&self, path: &str) -> Arc<Method> {
        let name = method_name(path);
        if let Some(method) = name.and_then(|name| self.cache.get(name)) {
            return method;
        }
        match (self.side, name) {
            (Side::Client, Some(name)) => {
                let method = Arc::new(Method::new(name));
                self.cache.insert(name, method.clone());
                method
            }
            _ => self.other.clone(),
        }
    }

    /// The histogram of `method` for one status code.
    fn register(&self, method: &Method, code: &'static str) -> metrics::Histogram {
        let mut labels = vec![
            (prometheus_label(RPC_SYSTEM_NAME), SYSTEM.to_owned()),
            (prometheus_label(RPC_METHOD), method.name.to_string()),
            (prometheus_label(RPC_RESPONSE_STATUS_CODE), code.to_owned()),
        ];
        if let Some(upstream) = &self.upstream {
            labels.push((
                prometheus_label(SERVER_ADDRESS),
                upstream.address.to_string(),
            ));
            labels.push((prometheus_label(SERVER_PORT), upstream.port.to_string()));
        }
        let labels: Vec<metrics::Label> = labels
            .into_iter()
            .map(|(key, value)| metrics::Label::new(key, value))
            .collect();
        metrics::histogram!(self.side.metric(), labels)
    }
}

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// How a gRPC call ended: its status code and message.
pub(crate) type Outcome = (Code, Cow<'static, str>);

/// The gRPC status in `headers` (the trailers, or the headers of a
/// trailers-only answer), if they carry one. OK, by far the most common, is
/// read without tonic's full parse of the message, details and metadata.
fn status_in(headers: &http::HeaderMap) -> Option<Outcome> {
    // Most calls pass here twice: first with the response headers, which
    // carry no status, then with the trailers.
    let status = headers.get(GRPC_STATUS)?;
    if status.as_bytes() == b"0" {
        return Some((Code::Ok, Cow::Borrowed("")));
    }
    tonic::Status::from_header_map(headers)
        .map(|status| (status.code(), status.message().to_owned().into()))
}

/// A call dropped this close to its deadline counts as cut off by it. The
/// client's timer starts before the server's (the request is in flight in
/// between), so a client whose deadline passes cancels a few milliseconds
/// before the server's own timer would fire; that cancel is the deadline's
/// doing.
const DEADLINE_SLACK: Duration = Duration::from_millis(10);

/// The [`Recorder`] of one gRPC call.
pub(crate) struct GrpcCall {
    methods: Arc<Methods>,
    method: Arc<Method>,
    /// The call's deadline, measured from its start, if it has one.
    deadline: Option<Duration>,
}

impl GrpcCall {
    /// Starts the span and the clock of a call to `path` under `parent`.
    /// Its deadline is the `grpc-timeout` in `headers`, capped by `limit`
    /// (a server's own longest call).
    pub(crate) fn start(
        methods: &Arc<Methods>,
        path: &str,
        headers: &http::HeaderMap,
        limit: Option<Duration>,
        parent: &OtelContext,
    ) -> Call<GrpcCall> {
        let method = methods.lookup(path);
        let cx = methods.tracer.start(methods.side.span_kind(), parent, || {
            let mut attributes = Vec::with_capacity(4);
            attributes.push(KeyValue::new(RPC_SYSTEM_NAME, SYSTEM));
            attributes.push(KeyValue::new(RPC_METHOD, method.name.clone()));
            // Per the RPC conventions, a method the layer does not know is
            // `_OTHER`, named by the system, with what was asked for beside.
            let name = if method.is_other() {
                let original = path.strip_prefix('/').unwrap_or(path).to_owned();
                attributes.push(KeyValue::new(RPC_METHOD_ORIGINAL, original));
                SYSTEM.into()
            } else {
                method.name.to_string().into()
            };
            if let Some(upstream) = &methods.upstream {
                attributes.push(KeyValue::new(SERVER_ADDRESS, upstream.address.clone()));
                attributes.push(KeyValue::new(SERVER_PORT, i64::from(upstream.port)));
            }
            (name, attributes)
        });
        let requested = headers
            .get(GRPC_TIMEOUT)
            .and_then(|value| parse_grpc_timeout(value.as_bytes()));
        let deadline = requested.into_iter().chain(limit).min();
        let recorder = GrpcCall {
            methods: methods.clone(),
            method,
            deadline,
        };
        Call::start(recorder, cx)
    }
}

impl Recorder for GrpcCall {
    type Outcome = Outcome;

    /// A call dropped at or past its deadline was cut off by it; any other
    /// was cancelled by whoever was waiting for it.
    fn abandoned(&self, elapsed: Duration) -> Outcome {
        match self.deadline {
            Some(deadline) if elapsed + DEADLINE_SLACK >= deadline => (
                Code::DeadlineExceeded,
                Cow::Borrowed("the deadline passed before the answer"),
            ),
            _ => (
                Code::Cancelled,
                Cow::Borrowed(self.methods.side.cancelled()),
            ),
        }
    }

    fn record(&self, (code, message): Outcome, elapsed: Duration, cx: &OtelContext) {
        let side = self.methods.side;
        let name = code_name(code);
        self.method
            .histograms
            .get(code as usize, || self.methods.register(&self.method, name))
            .record(elapsed.as_secs_f64());

        let span = cx.span();
        if span.is_recording() {
            span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, name));
            // A client span is an error for any non-OK code; a server span
            // only for server faults.
            if code != Code::Ok && (side == Side::Client || is_server_fault(code)) {
                span.set_status(Status::error(message.clone()));
            }
        }
        if code != Code::Ok {
            // `rpc.side` (which end logged it) and `error.message` are this
            // project's own fields; semconv has retired `error.message`.
            let _current = cx.clone().attach();
            let method = &*self.method.name;
            if is_server_fault(code) {
                tracing::error!(
                    rpc.side = side.label(),
                    { RPC_METHOD } = method,
                    { RPC_RESPONSE_STATUS_CODE } = name,
                    error.message = &*message,
                    "gRPC call failed"
                );
            } else {
                tracing::warn!(
                    rpc.side = side.label(),
                    { RPC_METHOD } = method,
                    { RPC_RESPONSE_STATUS_CODE } = name,
                    error.message = &*message,
                    "gRPC call failed"
                );
            }
        }
    }
}

impl Call<GrpcCall> {
    /// Finishes the call if `headers` carry its status (a trailers-only
    /// answer does); otherwise hands it back, for the trailers.
    pub(crate) fn finish_if_status(self, headers: &http::HeaderMap) -> Option<Call<GrpcCall>> {
        match status_in(headers) {
            Some(outcome) => {
                self.finish(outcome);
                None
            }
            None => Some(self),
        }
    }
}

/// Reads a `grpc-timeout` value: at most eight digits and a unit (`H`, `M`,
/// `S`, `m`, `u`, `n`), as the gRPC-over-HTTP/2 spec defines it.
fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let amount: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b'H' => Duration::from_secs(amount * 3600),
        b'M' => Duration::from_secs(amount * 60),
        b'S' => Duration::from_secs(amount),
        b'm' => Duration::from_millis(amount),
        b'u' => Duration::from_micros(amount),
        b'n' => Duration::from_nanos(amount),
        _ => return None,
    })
}

pin_project_lite::pin_project! {
    /// A response body that finishes its call when the trailers (or the end
    /// of the stream) arrive. Dropped early, its call is recorded as
    /// abandoned.
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        call: Option<Call<GrpcCall>>,
    }
}

impl<B> ObservedBody<B> {
    pub(crate) fn new(inner: B, call: Option<Call<GrpcCall>>) -> ObservedBody<B> {
        ObservedBody { inner, call }
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
        let outcome = match &polled {
            Poll::Ready(Some(Ok(frame))) => match frame.trailers_ref() {
                Some(trailers) => Some(
                    status_in(trailers)
                        .unwrap_or((Code::Unknown, Cow::Borrowed("trailers without grpc-status"))),
                ),
                None => None,
            },
            Poll::Ready(Some(Err(error))) => Some((Code::Unknown, error.to_string().into())),
            Poll::Ready(None) => Some((
                Code::Unknown,
                Cow::Borrowed("stream ended without grpc-status"),
            )),
            Poll::Pending => None,
        };
        if let Some(outcome) = outcome
            && let Some(call) = this.call.take()
        {
            call.finish(outcome);
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
mod tests;
