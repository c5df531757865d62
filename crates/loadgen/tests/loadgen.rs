//! The built `loadgen` binary against a real HTTP server that counts what it
//! is sent.

// Test code: a failed unwrap is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::routing::get;

#[tokio::test]
async fn browses_the_page_at_the_rate_with_every_nth_request_a_missing_page() {
    let (home, missing) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (h, m) = (home.clone(), missing.clone());
    let app = Router::new()
        .route(
            "/",
            get(move || async move {
                h.fetch_add(1, Ordering::Relaxed);
                "home"
            }),
        )
        .fallback(move || async move {
            m.fetch_add(1, Ordering::Relaxed);
            (axum::http::StatusCode::NOT_FOUND, "missing")
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .env_clear()
        .env("TARGET_URL", format!("http://{addr}"))
        .env("RATE", "50")
        .env("BAD_PATH_EVERY", "5")
        .env("DURATION", "1s")
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let (home, missing) = (
        home.load(Ordering::Relaxed),
        missing.load(Ordering::Relaxed),
    );
    // 50 per second for one second: about 40 home pages and 10 misses.
    assert!((30..=45).contains(&home), "home pages: {home}");
    assert!((7..=11).contains(&missing), "missing pages: {missing}");
}

#[test]
fn a_nonsense_rate_is_refused_in_one_line() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .env_clear()
        .env("RATE", "-3")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--rate"), "{stderr}");
}
