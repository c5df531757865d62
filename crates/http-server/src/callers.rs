//! The caller allow-list for a web server with mutual TLS: a request from
//! a client that `TLS_ALLOWED_CLIENTS` does not name gets 403, with one
//! log line naming that client, and is counted (`tls::CallerCheck`). It
//! runs inside the telemetry layer, so the 403 is traced and measured like
//! any other answer, and gets the security headers.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};

/// The middleware, for `axum::middleware::from_fn_with_state`.
pub(crate) async fn check(
    State(check): State<tls::CallerCheck>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<tls::Peer>();
    match check.check(peer, request.uri().path()) {
        Ok(()) => next.run(request).await,
        Err(refused) => (StatusCode::FORBIDDEN, refused.message).into_response(),
    }
}
