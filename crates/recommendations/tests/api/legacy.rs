//! The tutorial's unchanged API, as the tutorial's own client calls it.

use std::collections::HashSet;

use proto::legacy::{BookCategory, RecommendationRequest};
use tonic::Code;

use crate::helpers::spawn_app;

fn request(category: i32, max_results: i32) -> RecommendationRequest {
    RecommendationRequest {
        user_id: 1,
        category,
        max_results,
    }
}

#[tokio::test]
async fn each_category_returns_its_three_books() {
    let app = spawn_app().await;
    let mut client = app.legacy_client().await;
    for (category, expected) in [
        (BookCategory::Mystery, [1, 2, 3]),
        (BookCategory::ScienceFiction, [4, 5, 6]),
        (BookCategory::SelfHelp, [7, 8, 9]),
    ] {
        let response = client
            .recommend(request(category as i32, 3))
            .await
            .unwrap()
            .into_inner();
        let mut ids: Vec<i32> = response.recommendations.iter().map(|b| b.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, expected, "{category:?}");
    }
}

#[tokio::test]
async fn answers_are_distinct_and_capped_by_max_results_and_category_size() {
    let app = spawn_app().await;
    let mut client = app.legacy_client().await;
    for max_results in 1..=6 {
        let books = client
            .recommend(request(BookCategory::Mystery as i32, max_results))
            .await
            .unwrap()
            .into_inner()
            .recommendations;
        let ids: HashSet<i32> = books.iter().map(|b| b.id).collect();
        assert_eq!(
            books.len(),
            (max_results as usize).min(3),
            "max_results={max_results}"
        );
        assert_eq!(
            ids.len(),
            books.len(),
            "duplicates for max_results={max_results}"
        );
    }
}

#[tokio::test]
async fn zero_max_results_returns_the_default_of_three() {
    let app = spawn_app().await;
    let mut client = app.legacy_client().await;
    let books = client
        .recommend(request(0, 0))
        .await
        .unwrap()
        .into_inner()
        .recommendations;
    assert_eq!(books.len(), 3);
}

#[tokio::test]
async fn unknown_category_number_is_not_found() {
    let app = spawn_app().await;
    let status = app
        .legacy_client()
        .await
        .recommend(request(99, 3))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "category not found");
}

#[tokio::test]
async fn negative_max_results_is_invalid_argument_naming_the_field() {
    let app = spawn_app().await;
    let status = app
        .legacy_client()
        .await
        .recommend(request(0, -1))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("max_results"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn i32_max_results_is_refused_safely_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    let mut client = app.legacy_client().await;
    let status = client.recommend(request(0, i32::MAX)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("between 0 and 100"),
        "{}",
        status.message()
    );
    assert_eq!(
        client
            .recommend(request(0, 3))
            .await
            .unwrap()
            .into_inner()
            .recommendations
            .len(),
        3
    );
}

#[tokio::test]
async fn a_catalog_file_replaces_the_embedded_books() {
    let dir = std::env::temp_dir().join(format!("catalog-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("catalog.json");
    std::fs::write(
        &path,
        r#"[{"id": 77, "title": "The Big Sleep", "category": "MYSTERY"}]"#,
    )
    .unwrap();

    let app = crate::helpers::spawn_app_with(&["--catalog-path", path.to_str().unwrap()]).await;
    let mut client = app.legacy_client().await;
    let books = client
        .recommend(request(0, 3))
        .await
        .unwrap()
        .into_inner()
        .recommendations;
    assert_eq!(books.len(), 1);
    assert_eq!(
        (books[0].id, books[0].title.as_str()),
        (77, "The Big Sleep")
    );
    // The file has no self-help books, so that category does not exist here.
    let status = client
        .recommend(request(BookCategory::SelfHelp as i32, 3))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}
