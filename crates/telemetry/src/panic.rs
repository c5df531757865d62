//! What a caught panic becomes: gRPC INTERNAL or HTTP 500, with one error log
//! line inside the request's span. The process keeps serving.

use std::any::Any;

use bytes::Bytes;
use http_body_util::Full;

/// The function type `CatchPanicLayer` is given for gRPC.
pub(crate) type GrpcPanicResponse =
    fn(Box<dyn Any + Send + 'static>) -> http::Response<Full<Bytes>>;

/// The function type `CatchPanicLayer` is given for HTTP.
pub(crate) type HttpPanicResponse =
    fn(Box<dyn Any + Send + 'static>) -> http::Response<Full<Bytes>>;

fn describe(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "non-string panic payload"
    }
}

pub(crate) fn grpc_panic_response(
    payload: Box<dyn Any + Send + 'static>,
) -> http::Response<Full<Bytes>> {
    tracing::error!(
        panic.message = describe(payload.as_ref()),
        "handler panicked; answering INTERNAL"
    );
    tonic::Status::internal("internal error").into_http()
}

pub(crate) fn http_panic_response(
    payload: Box<dyn Any + Send + 'static>,
) -> http::Response<Full<Bytes>> {
    tracing::error!(
        panic.message = describe(payload.as_ref()),
        "handler panicked; answering 500"
    );
    let mut response =
        http::Response::new(Full::new(Bytes::from_static(b"internal server error\n")));
    *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
