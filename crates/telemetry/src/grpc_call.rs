//! What the gRPC server and client layers share: status classification,
//! the methods a layer knows, the [`Recorder`] of one call, and the one log
//! line of a failed call. A call's outcome arrives in the trailers of the
//! response body, so the body ([`crate::ObservedBody`]) finishes the call.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::Label;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context as OtelContext, KeyValue};
use opentelemetry_semantic_conventions::attribute::{
    RPC_METHOD, RPC_METHOD_ORIGINAL, RPC_RESPONSE_STATUS_CODE, RPC_SYSTEM_NAME, SERVER_ADDRESS,
    SERVER_PORT,
};
use tonic::Code;

use crate::call::{Call, Recorder};
use crate::call_span::CallTracer;
use crate::prometheus::labels;

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

/// Where a client's calls go: `server.address` and `server.port`.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) address: Arc<str>,
    pub(crate) port: u16,
}

/// What one layer records its calls with: the side of the call, the tracer
/// its spans come from, and what names a call.
///
/// A server knows the methods it serves from the start, so a call is named
/// when its span starts, and a call to anything else is `_OTHER`, which no
/// client can use to mint new series. A client's methods come from its own
/// code, so each call is named by its path.
#[derive(Debug)]
pub(crate) struct Methods {
    side: Side,
    tracer: CallTracer,
    /// The methods a server serves, by full name; `None` on a client.
    served: Option<HashSet<Arc<str>>>,
    upstream: Option<Upstream>,
}

impl Methods {
    /// The methods a server serves, by full name (`package.Service/Method`).
    pub(crate) fn served<I, S>(tracer: CallTracer, served: I) -> Methods
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Methods {
            side: Side::Server,
            tracer,
            served: Some(
                served
                    .into_iter()
                    .map(|name| name.as_ref().into())
                    .collect(),
            ),
            upstream: None,
        }
    }

    /// The methods a client calls on `upstream`.
    pub(crate) fn called(tracer: CallTracer, upstream: Upstream) -> Methods {
        Methods {
            side: Side::Client,
            tracer,
            served: None,
            upstream: Some(upstream),
        }
    }

    /// The `rpc.method` of a call to `path`, if this layer knows it.
    fn lookup(&self, path: &str) -> Option<Arc<str>> {
        let name = method_name(path)?;
        match &self.served {
            Some(served) => served.get(name).cloned(),
            None => Some(name.into()),
        }
    }
}

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

/// How a gRPC call ended: its status code and message.
pub(crate) type Outcome = (Code, Cow<'static, str>);

/// The gRPC status in `headers` (the trailers, or the headers of a
/// trailers-only answer), if they carry one. OK, by far the most common, is
/// read without tonic's full parse of the message, details and metadata.
pub(crate) fn status_in(headers: &http::HeaderMap) -> Option<Outcome> {
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

/// Marks a client call as one attempt of a call that its caller retries,
/// as `grpc_client::Client::call` does: the client layer then logs a failed
/// attempt at DEBUG only (its span and metric sample still record it), and
/// the caller logs the call's outcome once, after its last attempt, with
/// [`RetriedCall::log_failure`]. Put a clone in every attempt's request
/// extensions.
#[derive(Debug, Clone, Default)]
pub struct RetriedCall(Arc<OnceLock<Named>>);

/// What the layer tells a [`RetriedCall`] about its attempts.
#[derive(Debug)]
struct Named {
    method: Arc<str>,
    upstream: Option<Upstream>,
}

impl RetriedCall {
    /// Logs the call's failure once: ERROR for a server fault, WARN for the
    /// rest, with the method and upstream its attempts were recorded under.
    /// Call it inside the caller's span, so the line carries its trace id.
    pub fn log_failure(&self, status: &tonic::Status, attempts: u32) {
        let named = self.0.get();
        let method = named.map_or(OTHER, |named| &*named.method);
        let upstream = named.and_then(|named| named.upstream.as_ref());
        log_failure(
            Side::Client,
            method,
            upstream,
            status.code(),
            status.message(),
            Some(attempts),
            false,
        );
    }
}

/// Logs one failed call, with semconv keys: ERROR for a server fault, WARN
/// for the rest, or DEBUG for an attempt its caller will log. `rpc.side`
/// (which end logged it) and `error.message` are this project's own fields;
/// semconv has retired `error.message`.
fn log_failure(
    side: Side,
    method: &str,
    upstream: Option<&Upstream>,
    code: Code,
    message: &str,
    attempts: Option<u32>,
    attempt_of_retried_call: bool,
) {
    macro_rules! log {
        ($level:expr, $what:literal) => {
            tracing::event!(
                $level,
                rpc.side = side.label(),
                { RPC_METHOD } = method,
                { RPC_RESPONSE_STATUS_CODE } = code_name(code),
                { SERVER_ADDRESS } = upstream.map(|upstream| &*upstream.address),
                { SERVER_PORT } = upstream.map(|upstream| upstream.port),
                error.message = message,
                attempts,
                $what
            )
        };
    }
    if attempt_of_retried_call {
        log!(tracing::Level::DEBUG, "gRPC attempt failed");
    } else if is_server_fault(code) {
        log!(tracing::Level::ERROR, "gRPC call failed");
    } else {
        log!(tracing::Level::WARN, "gRPC call failed");
    }
}

/// The [`Recorder`] of one gRPC call.
pub(crate) struct GrpcCall {
    methods: Arc<Methods>,
    /// `rpc.method`: `_OTHER` for a method the layer does not know.
    method: Arc<str>,
    /// The call's deadline, measured from its start, if it has one.
    deadline: Option<Duration>,
    /// Whether the call is one attempt of a [`RetriedCall`].
    retried: bool,
}

impl GrpcCall {
    /// Starts the span and the clock of a call to `path` under `parent`.
    /// Its deadline is the `grpc-timeout` in `headers`, capped by `limit`
    /// (a server's own longest call).
    pub(crate) fn start<B>(
        methods: &Arc<Methods>,
        request: &http::Request<B>,
        limit: Option<Duration>,
        parent: &OtelContext,
    ) -> Call<GrpcCall> {
        let path = request.uri().path();
        let known = methods.lookup(path);
        let method = known.clone().unwrap_or_else(|| OTHER.into());
        let mut attributes = vec![
            KeyValue::new(RPC_SYSTEM_NAME, SYSTEM),
            KeyValue::new(RPC_METHOD, method.clone()),
        ];
        // Per the RPC conventions, a method the layer does not know is
        // `_OTHER`, in a span named for the system, with what was asked for
        // beside it.
        let name: Cow<'static, str> = match known {
            Some(name) => name.to_string().into(),
            None => {
                let original = path.strip_prefix('/').unwrap_or(path).to_owned();
                attributes.push(KeyValue::new(RPC_METHOD_ORIGINAL, original));
                SYSTEM.into()
            }
        };
        if let Some(upstream) = &methods.upstream {
            attributes.push(KeyValue::new(SERVER_ADDRESS, upstream.address.clone()));
            attributes.push(KeyValue::new(SERVER_PORT, i64::from(upstream.port)));
        }
        let cx = methods
            .tracer
            .start(methods.side.span_kind(), parent, name, attributes);

        let retried = request.extensions().get::<RetriedCall>();
        if let Some(retried) = retried {
            let _ = retried.0.set(Named {
                method: method.clone(),
                upstream: methods.upstream.clone(),
            });
        }
        let requested = request
            .headers()
            .get(GRPC_TIMEOUT)
            .and_then(|value| parse_grpc_timeout(value.as_bytes()));
        let recorder = GrpcCall {
            methods: methods.clone(),
            method,
            deadline: requested.into_iter().chain(limit).min(),
            retried: retried.is_some(),
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
        let upstream = self.methods.upstream.as_ref();
        let mut labels = vec![
            Label::new(labels::RPC_SYSTEM_NAME, SYSTEM),
            Label::new(labels::RPC_METHOD, self.method.clone()),
            Label::new(labels::RPC_RESPONSE_STATUS_CODE, code_name(code)),
        ];
        if let Some(upstream) = upstream {
            labels.push(Label::new(labels::SERVER_ADDRESS, upstream.address.clone()));
            labels.push(Label::new(labels::SERVER_PORT, upstream.port.to_string()));
        }
        metrics::histogram!(side.metric(), labels).record(elapsed.as_secs_f64());

        let span = cx.span();
        span.set_attribute(KeyValue::new(RPC_RESPONSE_STATUS_CODE, code_name(code)));
        // A client span is an error for any non-OK code; a server span only
        // for server faults.
        if code != Code::Ok && (side == Side::Client || is_server_fault(code)) {
            span.set_status(Status::error(message.clone()));
        }
        if code != Code::Ok {
            let _current = cx.clone().attach();
            log_failure(
                side,
                &self.method,
                upstream,
                code,
                &message,
                None,
                self.retried,
            );
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

#[cfg(test)]
mod tests;
