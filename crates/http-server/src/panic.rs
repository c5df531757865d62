//! Panic recovery, a layer of its own below telemetry: a handler that
//! panics, while it makes its future or while it runs, is answered with a
//! plain 500, and the process keeps serving. It holds with telemetry off too.

use std::any::Any;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};
use tower_http::catch_panic::CatchPanicLayer;

/// What a panic leaves behind.
type Payload = Box<dyn Any + Send + 'static>;

/// The layer: tower-http's, with the kit's answer.
pub(crate) fn layer() -> CatchPanicLayer<fn(Payload) -> Response<Body>> {
    CatchPanicLayer::custom(internal_server_error as fn(Payload) -> Response<Body>)
}

/// A plain 500; the panic's message stays in the log, inside the request's
/// span when telemetry is on.
fn internal_server_error(payload: Payload) -> Response<Body> {
    telemetry::log_caught_panic(payload.as_ref(), "500");
    let mut response = Response::new(Body::from("internal server error\n"));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
