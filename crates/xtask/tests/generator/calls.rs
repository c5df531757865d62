//! `--calls`: a new service calling a generated one finds its port, wires
//! compose, Kubernetes and both mTLS overlays to it, joins its allow-lists,
//! and calls it through its own client.

use crate::helpers::{Repo, assert_same};

#[test]
fn a_call_to_a_generated_service_is_wired_to_its_port_and_its_own_client() {
    let repo = Repo::copy();
    repo.ok("new-service stock --kind grpc");
    let before = repo.snapshot();
    repo.ok("new-service shop --kind web --calls stock --calls recommendations");

    let compose = repo.read("docker-compose.yaml");
    assert!(
        compose.contains("      STOCK_URL: http://stock:50052\n"),
        "{compose}"
    );
    let env = repo.read("deploy/k8s/base/config/shop.env");
    assert!(
        env.contains("STOCK_URL=http://stock.books.svc.cluster.local:50052\n"),
        "{env}"
    );
    let mtls = repo.read("docker-compose.mtls.yaml");
    assert!(
        mtls.contains("      STOCK_URL: https://stock:50052\n"),
        "{mtls}"
    );
    let patch = repo.read("deploy/k8s/overlays/mtls/shop-tls.yaml");
    assert!(
        patch.contains("value: https://stock.books.svc.cluster.local:50052\n"),
        "{patch}"
    );

    // shop joined the allow-lists of both its upstreams, in both overlays.
    assert!(
        mtls.contains("      TLS_ALLOWED_CLIENTS: \"shop\"\n"),
        "{mtls}"
    );
    assert!(
        mtls.contains("      TLS_ALLOWED_CLIENTS: marketplace,shop\n"),
        "{mtls}"
    );
    let stock = repo.read("deploy/k8s/overlays/mtls/stock-tls.yaml");
    assert!(stock.contains("value: \"shop\"\n"), "{stock}");
    let recommendations = repo.read("deploy/k8s/overlays/mtls/recommendations-tls.yaml");
    assert!(
        recommendations.contains("value: marketplace,shop\n"),
        "{recommendations}"
    );

    // stock's own API, through its own client; recommendations' health.
    let lib = repo.read("crates/shop/src/lib.rs");
    assert!(
        lib.contains("proto::stock::v1::stock_service_client::StockServiceClient::new"),
        "{lib}"
    );
    assert!(lib.contains("proto::stock::v1::GetItemRequest"), "{lib}");
    assert!(lib.contains("HealthClient::new"), "{lib}");

    repo.ok("remove-service shop");
    assert_same(&before, &repo.snapshot(), "after removing shop");
}

#[test]
fn a_generated_service_whose_api_was_rewritten_is_called_by_its_health() {
    let repo = Repo::copy();
    repo.ok("new-service stock --kind grpc");
    let proto = repo.path("protobufs/stock/v1/stock.proto");
    let rewritten = std::fs::read_to_string(&proto)
        .unwrap()
        .replace("GetItem", "FindItem");
    std::fs::write(&proto, rewritten).unwrap();
    repo.ok("new-service shop --kind web --calls stock");
    let lib = repo.read("crates/shop/src/lib.rs");
    assert!(
        lib.contains("HealthClient::new") && !lib.contains("StockServiceClient"),
        "{lib}"
    );
}
