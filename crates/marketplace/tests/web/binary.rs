//! The built `marketplace` binary, run as an operator runs it.

use testkit::process::{assert_help_names, config_error};

use crate::helpers::{get, listed_titles, marketplace_spec, spawn_recommendations};

const BIN: &str = env!("CARGO_BIN_EXE_marketplace");

#[test]
fn help_documents_every_setting_with_its_variable() {
    assert_help_names(
        BIN,
        &[
            "HTTP_ADDR",
            "ADMIN_ADDR",
            "RECOMMENDATIONS_URL",
            "RECOMMENDATIONS_DEADLINE",
            "RECOMMENDATIONS_CA",
            "SHUTDOWN_DELAY",
            "SHUTDOWN_TIMEOUT",
        ],
    );
}

#[test]
fn bad_config_prints_one_line_and_exits_non_zero() {
    for env in [
        ("HTTP_ADDR", "localhost"),
        ("RECOMMENDATIONS_URL", "recommendations:50051"),
        ("SHUTDOWN_TIMEOUT", "-1s"),
        ("RUST_LOG", "info,=="),
    ] {
        let stderr = config_error(BIN, "HTTP_ADDR", &[env]);
        assert!(
            stderr.starts_with("error: invalid value"),
            "{env:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn serves_the_page_on_the_addresses_from_the_environment() {
    let recommendations = spawn_recommendations().await;
    // HTTP_ADDR and ADMIN_ADDR come from the environment, on free ports.
    let marketplace = marketplace_spec(recommendations.addr).start().await;
    let page = get(marketplace.addr, "/").await;
    assert_eq!(page.status, 200);
    assert_eq!(listed_titles(&page.body).len(), 3, "{}", page.body);
    assert_eq!(get(marketplace.admin_addr, "/readyz").await.status, 200);
    assert_eq!(marketplace.terminate().await, Some(0));
}
