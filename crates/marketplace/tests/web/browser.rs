//! A real browser loads the page: Debian's headless Chromium, against both
//! services as processes exporting to a real OTLP receiver. The trace id the
//! page shows must name one trace that spans both services.
//!
//! Ignored by default because it needs Chromium installed; `.ci/run` installs
//! it and runs this with `cargo nextest run --run-ignored only`.

use std::time::Duration;

use testkit::otlp::{KIND_SERVER, OtlpReceiver};

use crate::helpers::{MYSTERY_TITLES, start_both};

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Loads `url` in headless Chromium and returns the rendered DOM and the
/// browser's log (console messages, such as security policy violations).
async fn dump_dom(url: &str) -> (String, String) {
    let profile = std::env::temp_dir().join(format!("chromium-profile-{}", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--enable-logging=stderr",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--dump-dom")
            .arg(url)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium did not finish within 60 s")
    .unwrap_or_else(|e| panic!("cannot run {} ({e}); install Debian's chromium", chromium()));
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
#[ignore = "needs Debian's chromium; .ci/run installs it and runs ignored tests"]
async fn a_page_loaded_in_chromium_is_one_trace_across_both_services() {
    let receiver = OtlpReceiver::start().await;
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ];
    let (recommendations, marketplace) = start_both(&env).await;

    let (dom, log) = dump_dom(&format!("http://{}/", marketplace.addr)).await;
    assert!(dom.contains("<title>Online Books For You</title>"), "{dom}");
    // The page's own security policy must not block any of the page.
    assert!(!log.contains("Content Security Policy"), "{log}");
    for title in MYSTERY_TITLES {
        assert!(
            dom.contains(&format!("<li>{title}</li>")),
            "{title} missing from {dom}"
        );
    }
    let trace_id = dom
        .split(r#"<code id="trace-id">"#)
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the page shows its trace id")
        .to_owned();
    assert_eq!(trace_id.len(), 32, "{trace_id}");

    receiver
        .wait_for("server spans from both services", |r| {
            let spans = r.spans_of_trace(&trace_id);
            ["marketplace", "recommendations"].iter().all(|service| {
                spans
                    .iter()
                    .any(|s| s.service_name == *service && s.kind == KIND_SERVER)
            })
        })
        .await;
    let spans = receiver.spans_of_trace(&trace_id);
    let page = spans
        .iter()
        .find(|s| s.service_name == "marketplace" && s.kind == KIND_SERVER)
        .unwrap();
    assert_eq!(page.name, "GET /");
    assert!(
        page.parent_span_id.is_empty(),
        "the browser sent no traceparent; the page span is the root"
    );

    assert_eq!(marketplace.terminate().await, Some(0));
    assert_eq!(recommendations.terminate().await, Some(0));
}
