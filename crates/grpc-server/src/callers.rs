//! The caller allow-list for gRPC: with mutual TLS, a call from a client
//! that `TLS_ALLOWED_CLIENTS` does not name is answered PERMISSION_DENIED
//! before any route sees it: health and reflection included, since a
//! refused client has no business learning the API either.
//!
//! It sits inside the telemetry layer, so a refused call is traced and
//! measured like any other answer, besides the allow-list's own log line
//! and counter. It also unpacks the connection's info into the request's
//! extensions: tonic's `TcpConnectInfo`, so `Request::remote_addr` works
//! as usual, and the TLS [`tls::Peer`], for a handler that wants to know
//! which service is calling.

use std::future::Ready;
use std::task::{Context, Poll};

use futures_util::future::Either;
use tonic::Status;

use crate::connection::ConnectionInfo;

/// The layer: see the module's documentation.
#[derive(Debug, Clone)]
pub(crate) struct CallerLayer {
    check: tls::CallerCheck,
}

impl CallerLayer {
    pub(crate) fn new(check: tls::CallerCheck) -> CallerLayer {
        CallerLayer { check }
    }
}

impl<S> tower::Layer<S> for CallerLayer {
    type Service = Callers<S>;

    fn layer(&self, inner: S) -> Callers<S> {
        Callers {
            inner,
            check: self.check.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Callers<S> {
    inner: S,
    check: tls::CallerCheck,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for Callers<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    /// The inner service's future, or the refusal, ready at once.
    type Future = Either<S::Future, Ready<Result<http::Response<ResBody>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let info = request.extensions_mut().remove::<ConnectionInfo>();
        let peer = info.as_ref().and_then(|info| info.peer.clone());
        if let Err(refused) = self.check.check(peer.as_ref(), request.uri().path()) {
            let response = Status::permission_denied(refused.message).into_http();
            return Either::Right(std::future::ready(Ok(response)));
        }
        if let Some(info) = info {
            request.extensions_mut().insert(info.tcp);
        }
        if let Some(peer) = peer {
            request.extensions_mut().insert(peer);
        }
        Either::Left(self.inner.call(request))
    }
}
