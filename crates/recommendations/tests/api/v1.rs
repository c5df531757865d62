//! The versioned `recommendations.v1` API.

use proto::v1::{BookCategory, RecommendRequest};
use tonic::Code;

use crate::helpers::spawn_app;

#[tokio::test]
async fn recommends_books_of_the_asked_category() {
    let app = spawn_app().await;
    let request = RecommendRequest {
        user_id: 7,
        category: BookCategory::ScienceFiction as i32,
        max_results: 2,
    };
    let books = app
        .v1_client()
        .await
        .recommend(request)
        .await
        .unwrap()
        .into_inner()
        .recommendations;
    assert_eq!(books.len(), 2);
    assert!(books.iter().all(|b| (4..=6).contains(&b.id)), "{books:?}");
}

#[tokio::test]
async fn unspecified_category_is_invalid_argument() {
    let app = spawn_app().await;
    let request = RecommendRequest {
        user_id: 1,
        category: BookCategory::Unspecified as i32,
        max_results: 3,
    };
    let status = app.v1_client().await.recommend(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "category must be specified");
}

#[tokio::test]
async fn unknown_category_number_is_not_found() {
    let app = spawn_app().await;
    let request = RecommendRequest {
        user_id: 1,
        category: 99,
        max_results: 3,
    };
    let status = app.v1_client().await.recommend(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn argument_errors_come_before_lookups() {
    let app = spawn_app().await;
    let request = RecommendRequest {
        user_id: 1,
        category: 99,
        max_results: -5,
    };
    let status = app.v1_client().await.recommend(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}
