//! The built `SKELETON_NAME` binary, run as an operator runs it.

use testkit::http::get;
use testkit::process::{Spec, assert_help_names, config_error};

const BIN: &str = env!("CARGO_BIN_EXE_SKELETON_NAME");

#[test]
fn help_documents_every_setting_with_its_variable() {
    let vars = [
        "HTTP_ADDR",
        "ADMIN_ADDR",
        "HTTP_HEADER_READ_TIMEOUT",
        "SHUTDOWN_DELAY",
        "RUST_LOG",
        // xtask:calls {
        "CALLEE_URL",
        // xtask:}
    ];
    assert_help_names(BIN, &vars);
}

#[test]
fn bad_config_prints_one_line_and_exits_non_zero() {
    let stderr = config_error(BIN, "HTTP_ADDR", &[("HTTP_ADDR", "nowhere")]);
    assert!(stderr.contains("--http-addr"), "{stderr}");
}

#[tokio::test]
async fn serves_on_the_addresses_from_the_environment_and_drains_on_sigterm() {
    let process = Spec::new(BIN, "HTTP_ADDR").start().await;
    let page = get(process.addr, "/").await;
    assert_eq!(page.status, 200);
    // The binary starts telemetry, so each response names its trace.
    assert!(page.headers.contains_key("traceresponse"), "{:?}", page.headers);
    assert_eq!(get(process.admin_addr, "/readyz").await.status, 200);
    assert_eq!(process.terminate().await, Some(0));
}
