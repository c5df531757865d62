//! The pages: askama templates, compiled into the binary and HTML-escaped by
//! default, and the handlers that fill them.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::AppState;
// xtask:calls-generated {

/// The callee client: callee's own API client (from `proto`) on the kit's
/// balanced channel, with its deadline and safe retries.
pub type CalleeClient = kit::grpc_client::Client<
    proto::callee::v1::callee_service_client::CalleeServiceClient<kit::grpc_client::Channel>,
>;
// xtask:}
// xtask:calls-other {

/// The callee client: the kit's balanced channel, with its deadline and
/// safe retries. The example asks callee's health; replace it with callee's
/// own API client (in `proto`) and call that instead.
pub type CalleeClient = kit::grpc_client::Client<
    tonic_health::pb::health_client::HealthClient<kit::grpc_client::Channel>,
>;
// xtask:}

/// The longest name the page greets; longer ones are cut.
const MAX_NAME_CHARS: usize = 64;

/// The query string of `GET /`.
#[derive(Debug, serde::Deserialize)]
pub struct Greeting {
    name: Option<String>,
}

/// How one upstream answered.
#[derive(Debug)]
pub struct UpstreamStatus {
    name: &'static str,
    answering: bool,
}

impl UpstreamStatus {
    /// The status of `name` from the result of a call to it. A failed call
    /// is not logged here: the kit's client has logged it once, inside the
    /// request's span, after its last attempt.
    pub fn of<T, E>(name: &'static str, result: Result<T, E>) -> UpstreamStatus {
        UpstreamStatus {
            name,
            answering: result.is_ok(),
        }
    }
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    name: String,
    upstreams: Vec<UpstreamStatus>,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

/// `GET /`: a greeting, and how each upstream is.
pub async fn index(State(state): State<AppState>, Query(greeting): Query<Greeting>) -> Response {
    let name = greeting
        .name
        .unwrap_or_else(|| "world".to_owned())
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    let upstreams = state.upstreams().await;
    render(StatusCode::OK, &IndexPage { name, upstreams })
}

/// Every unmatched route: a 404 page.
pub async fn not_found() -> Response {
    render(StatusCode::NOT_FOUND, &NotFoundPage)
}

fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "failed to render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_user_typed_is_html_escaped() {
        let page = IndexPage {
            name: "<script>alert('x')</script>".to_owned(),
            upstreams: Vec::new(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&#60;script&#62;"), "{html}");
    }
}
