//! Panic recovery, a layer of its own below telemetry: a handler that
//! panics, while it makes its future or while it runs, is answered
//! INTERNAL, and the process keeps serving. It holds with telemetry off too.

use std::any::Any;

use tonic::body::Body;
use tower_http::catch_panic::CatchPanicLayer;

/// What a panic leaves behind.
type Payload = Box<dyn Any + Send + 'static>;

/// The layer: tower-http's, answering gRPC's way.
pub(crate) fn layer() -> CatchPanicLayer<fn(Payload) -> http::Response<Body>> {
    CatchPanicLayer::custom(internal as fn(Payload) -> http::Response<Body>)
}

/// INTERNAL, as a trailers-only answer; the panic's message stays in the
/// log, inside the call's span when telemetry is on.
fn internal(payload: Payload) -> http::Response<Body> {
    telemetry::log_caught_panic(payload.as_ref(), "INTERNAL");
    tonic::Status::internal("internal error").into_http()
}
