//! The pages as a browser gets them: escaped, with the kit's headers, a 404
//! page, and upstreams that degrade instead of failing the page.

use testkit::http::get;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_page_greets_with_the_kit_headers_and_escapes_input() {
    let app = spawn_app().await;
    let page = get(app.addr, "/?name=%3Cb%3EAda%3C%2Fb%3E").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Hello, &#60;b&#62;Ada"), "{}", page.body);
    for header in ["content-security-policy", "x-content-type-options"] {
        assert!(page.headers.contains_key(header), "no {header}: {:?}", page.headers);
    }
}

#[tokio::test]
async fn an_unknown_path_gets_the_404_page() {
    let app = spawn_app().await;
    let page = get(app.addr, "/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Not found"), "{}", page.body);
}
// xtask:calls {

#[tokio::test]
async fn with_callee_down_the_page_still_renders_and_says_so() {
    let closed = testkit::process::free_addr();
    let app = testkit::spawn(skeleton::run, [format!("--CALLEE_NAME-url=http://{closed}")]).await;
    let page = get(app.addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("CALLEE_NAME: unavailable right now"), "{}", page.body);

    let healthy = spawn_app().await;
    let page = get(healthy.addr, "/").await;
    assert!(page.body.contains("CALLEE_NAME: answering"), "{}", page.body);
}
// xtask:}
