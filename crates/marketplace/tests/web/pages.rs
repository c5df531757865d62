//! The pages, as a browser fetches them.

use crate::helpers::{
    MYSTERY_TITLES, get, listed_titles, spawn_marketplace, spawn_recommendations,
};

#[tokio::test]
async fn the_home_page_has_the_title_and_the_three_mystery_books() {
    let recommendations = spawn_recommendations().await;
    let marketplace = spawn_marketplace(recommendations.addr).await;

    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<title>Online Books For You</title>"),
        "{}",
        page.body
    );
    let mut titles = listed_titles(&page.body);
    titles.sort();
    let mut expected = MYSTERY_TITLES.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(titles, expected);
    assert_eq!(
        page.headers.get("content-type").unwrap(),
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn every_response_carries_the_browser_security_headers() {
    let recommendations = spawn_recommendations().await;
    let marketplace = spawn_marketplace(recommendations.addr).await;

    for path in ["/", "/no/such/page"] {
        let page = get(marketplace.addr, path).await;
        let csp = page.headers.get("content-security-policy").unwrap();
        let csp = csp.to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "style-src 'unsafe-inline'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert_eq!(
            page.headers.get("x-content-type-options").unwrap(),
            "nosniff"
        );
        assert_eq!(page.headers.get("referrer-policy").unwrap(), "no-referrer");
    }
}

#[tokio::test]
async fn an_unknown_route_is_a_404_page() {
    let recommendations = spawn_recommendations().await;
    let marketplace = spawn_marketplace(recommendations.addr).await;

    let page = get(marketplace.addr, "/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"), "{}", page.body);
}

#[tokio::test]
async fn many_page_loads_share_one_channel() {
    // Every load must succeed over the one long-lived channel, including
    // loads made concurrently.
    let recommendations = spawn_recommendations().await;
    let marketplace = spawn_marketplace(recommendations.addr).await;
    let mut loads = tokio::task::JoinSet::new();
    for _ in 0..20 {
        loads.spawn(get(marketplace.addr, "/"));
    }
    let mut done = 0;
    while let Some(page) = loads.join_next().await {
        let page = page.unwrap();
        assert_eq!(page.status, 200);
        assert_eq!(listed_titles(&page.body).len(), 3);
        done += 1;
    }
    assert_eq!(done, 20);
}

#[tokio::test]
async fn with_recommendations_down_the_page_still_renders_with_a_notice() {
    let recommendations = spawn_recommendations().await;
    let addr = recommendations.addr;
    recommendations.stop().await;
    let marketplace = spawn_marketplace(addr).await;

    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<title>Online Books For You</title>"));
    assert!(
        page.body
            .contains("Recommendations are unavailable right now"),
        "{}",
        page.body
    );
    assert!(listed_titles(&page.body).is_empty());
}

#[tokio::test]
async fn the_admin_probes_answer_and_readiness_fails_on_drain() {
    let recommendations = spawn_recommendations().await;
    let marketplace = spawn_marketplace(recommendations.addr).await;
    assert_eq!(get(marketplace.admin_addr, "/healthz").await.status, 200);
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 200);

    marketplace
        .controller
        .begin(std::time::Duration::from_secs(30));
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 503);
    assert_eq!(get(marketplace.admin_addr, "/healthz").await.status, 200);
    // Still serving pages during the delay.
    assert_eq!(get(marketplace.addr, "/").await.status, 200);
}
