//! The pages: askama templates, compiled into the binary and HTML-escaped by
//! default, and the handlers that fill them.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use proto::v1::{BookCategory, BookRecommendation, RecommendRequest};

use crate::AppState;

/// The user whose recommendations the home page shows. The tutorial has no
/// accounts either; this keeps its fixed user.
const USER_ID: i32 = 1;

/// How many books the home page lists, as in the tutorial.
const BOOKS_PER_PAGE: i32 = 3;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    /// `None` when Recommendations could not answer: the page still renders,
    /// with a notice in place of the list.
    books: Option<Vec<BookRecommendation>>,
    /// This page load's trace, shown in the footer.
    trace: Option<TraceLink>,
}

/// A page's own trace id, and where to open it (in development).
struct TraceLink {
    id: String,
    url: Option<String>,
}

impl TraceLink {
    fn current(template: Option<&str>) -> Option<TraceLink> {
        let id = kit::telemetry::current_trace_id()?;
        let url = template.map(|t| t.replace("{trace_id}", &id));
        Some(TraceLink { id, url })
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

/// `GET /`: the home page with mystery recommendations.
pub async fn index(State(state): State<AppState>) -> Response {
    let request = RecommendRequest {
        user_id: USER_ID,
        category: BookCategory::Mystery as i32,
        max_results: BOOKS_PER_PAGE,
    };
    let answer = state
        .recommendations
        .call(request, |mut client, request| async move {
            client.recommend(request).await
        })
        .await;
    let books = match answer {
        Ok(response) => Some(response.recommendations),
        Err(status) => {
            // A soft dependency: count the fallback and render the page
            // without it. The client has logged the failed call once, in the
            // page's span.
            metrics::counter!(
                "marketplace_recommendations_fallback_total",
                "rpc_response_status_code" => kit::telemetry::code_name(status.code()),
            )
            .increment(1);
            None
        }
    };
    let trace = TraceLink::current(state.trace_link_template.as_deref());
    render(StatusCode::OK, &IndexPage { books, trace })
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
    fn titles_are_html_escaped() {
        let page = IndexPage {
            books: Some(vec![BookRecommendation {
                id: 1,
                title: "<script>alert('x')</script> & co".to_owned(),
            }]),
            trace: None,
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; co"),
            "{html}"
        );
    }

    #[test]
    fn the_footer_shows_the_trace_id_and_an_escaped_link() {
        let page = IndexPage {
            books: Some(vec![]),
            trace: Some(TraceLink {
                id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                url: Some(
                    "http://grafana:3000/explore?a=1&b=4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                ),
            }),
        };
        let html = page.render().unwrap();
        assert!(
            html.contains(r#"<code id="trace-id">4bf92f3577b34da6a3ce929d0e0e4736</code>"#),
            "{html}"
        );
        assert!(
            html.contains("explore?a=1&#38;b=4bf92f3577b34da6a3ce929d0e0e4736"),
            "{html}"
        );
    }

    #[test]
    fn without_books_the_page_shows_a_notice() {
        let html = IndexPage {
            books: None,
            trace: None,
        }
        .render()
        .unwrap();
        assert!(html.contains("<title>Online Books For You</title>"));
        assert!(html.contains("Recommendations are unavailable right now"));
        assert!(!html.contains("<li>"));
    }
}
