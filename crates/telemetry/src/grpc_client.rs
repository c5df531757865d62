//! The gRPC client layer, the tutorial's client interceptor: per call it
//! opens a CLIENT span under the caller's span, injects the W3C
//! `traceparent` so the server continues the same trace, and records
//! `rpc_client_call_duration_seconds`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use opentelemetry::{Context as OtelContext, KeyValue};
use tower::{Layer, Service};

use crate::call_span::{in_context, inject};
use crate::grpc_call::{CallRecord, Methods, ObservedBody, Side, status_in};

/// Wraps a client channel: `ServiceBuilder::new().layer(GrpcClientLayer::new()).service(channel)`.
/// Build it after [`crate::init`], which installs the tracer it takes.
#[derive(Debug, Clone)]
pub struct GrpcClientLayer {
    methods: Arc<Methods>,
}

impl GrpcClientLayer {
    pub fn new() -> GrpcClientLayer {
        GrpcClientLayer {
            methods: Arc::new(Methods::new(Side::Client)),
        }
    }
}

impl Default for GrpcClientLayer {
    fn default() -> GrpcClientLayer {
        GrpcClientLayer::new()
    }
}

impl<S> Layer<S> for GrpcClientLayer {
    type Service = GrpcClientService<S>;

    fn layer(&self, inner: S) -> GrpcClientService<S> {
        GrpcClientService {
            inner,
            methods: self.methods.clone(),
        }
    }
}

/// See [`GrpcClientLayer`].
#[derive(Debug, Clone)]
pub struct GrpcClientService<S> {
    inner: S,
    methods: Arc<Methods>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcClientService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: std::error::Error + 'static,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let server = request
            .uri()
            .host()
            .map(|host| KeyValue::new("server.address", host.to_owned()));
        let record = CallRecord::start(
            &self.methods,
            request.uri().path(),
            &OtelContext::current(),
            server,
        );
        inject(record.context(), request.headers_mut());
        let future = in_context(record.context(), || self.inner.call(request));
        let mut pending = PendingCall(Some(record));
        Box::pin(async move {
            let result = future.await;
            let mut record = pending.0.take();
            let response = match result {
                Ok(response) => response,
                Err(error) => {
                    if let Some(record) = record {
                        record.finish(&status_of_error(&error));
                    }
                    return Err(error);
                }
            };
            if let Some(status) = status_in(response.headers())
                && let Some(record) = record.take()
            {
                record.finish(&status);
            }
            Ok(response.map(|body| ObservedBody::new(body, record)))
        })
    }
}

/// A call whose response has not arrived. If the caller drops the future
/// first (its own timeout, a cancelled page load), the call is still
/// recorded, as CANCELLED.
struct PendingCall(Option<CallRecord>);

impl Drop for PendingCall {
    fn drop(&mut self) {
        if let Some(record) = self.0.take() {
            record.finish(&tonic::Status::cancelled("the caller stopped waiting"));
        }
    }
}

/// The status a transport error stands for. tonic reports its own expired
/// `grpc-timeout` as CANCELLED; for metrics and spans it is what it is, a
/// missed deadline. Anything else kept the call from reaching the server.
fn status_of_error(error: &(dyn std::error::Error + 'static)) -> tonic::Status {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<tonic::TimeoutExpired>() {
            return tonic::Status::deadline_exceeded(current.to_string());
        }
        cause = current.source();
    }
    tonic::Status::unavailable(error.to_string())
}
