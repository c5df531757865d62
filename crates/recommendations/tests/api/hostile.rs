//! Hostile and broken gRPC input: each case gets the right answer, and the
//! server stays healthy afterwards.

use proptest::prelude::*;
use proto::v1::RecommendRequest;
use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use testkit::h2::{ENHANCE_YOUR_CALM, ResetFlood, reset_flood};
use testkit::http::series;
use tonic::Code;

use crate::helpers::{SERVING, TestApp, spawn_app};
use crate::raw::call_raw;

const V1_RECOMMEND: &str = "/recommendations.v1.RecommendationsService/Recommend";

async fn assert_still_serving(app: &TestApp) {
    assert_eq!(app.health("").await, SERVING);
    let request = RecommendRequest {
        user_id: 1,
        category: 1,
        max_results: 3,
    };
    let books = app
        .v1_client()
        .await
        .recommend(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(books.recommendations.len(), 3);
}

#[tokio::test]
async fn an_8_mib_request_is_refused_as_out_of_range() {
    let app = spawn_app().await;
    // A valid protobuf: field 15 (unknown) as 8 MiB of bytes. Only its size
    // is wrong.
    let mut message = vec![0x7a];
    let mut len = 8 * 1024 * 1024u64;
    while len >= 0x80 {
        message.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    message.push(len as u8);
    message.resize(message.len() + 8 * 1024 * 1024, 0);
    let status = call_raw(app.channel().await, V1_RECOMMEND, message)
        .await
        .unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn extreme_integers_get_precise_answers() {
    let app = spawn_app().await;
    let mut client = app.v1_client().await;
    let cases = [
        (i32::MIN, 1, 3, Code::Ok),
        (i32::MAX, 1, 3, Code::Ok),
        (1, 1, i32::MIN, Code::InvalidArgument),
        (1, 1, i32::MAX, Code::InvalidArgument),
        (1, i32::MIN, 3, Code::NotFound),
        (1, i32::MAX, 3, Code::NotFound),
    ];
    for (user_id, category, max_results, expected) in cases {
        let request = RecommendRequest {
            user_id,
            category,
            max_results,
        };
        let code = match client.recommend(request).await {
            Ok(_) => Code::Ok,
            Err(status) => status.code(),
        };
        assert_eq!(
            code, expected,
            "user_id={user_id} category={category} max_results={max_results}"
        );
    }
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn invalid_grpc_timeout_values_are_ignored_not_fatal() {
    let app = spawn_app().await;
    let mut client = app.v1_client().await;
    for value in ["bogus", "-5S", "99999999999H", "1", "", "10X"] {
        let mut request = tonic::Request::new(RecommendRequest {
            user_id: 1,
            category: 1,
            max_results: 2,
        });
        request
            .metadata_mut()
            .insert("grpc-timeout", value.parse().unwrap());
        let books = client
            .recommend(request)
            .await
            .unwrap_or_else(|s| panic!("{value:?}: {s:?}"));
        assert_eq!(books.into_inner().recommendations.len(), 2, "{value:?}");
    }
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn a_rapid_reset_flood_gets_goaway() {
    let app = spawn_app().await;
    let ResetFlood { sent, goaway_codes } = reset_flood(app.addr, V1_RECOMMEND, 10_000).await;
    assert!(
        goaway_codes.contains(&ENHANCE_YOUR_CALM),
        "no GOAWAY(ENHANCE_YOUR_CALM) after {sent} reset streams; GOAWAYs seen: {goaway_codes:?}"
    );
    assert!(sent < 1_000, "the server let {sent} reset streams through");
    assert_still_serving(&app).await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Arbitrary bytes as a request body: always a gRPC status, never a
    /// crash or a dropped connection, and the server stays serving.
    #[test]
    fn arbitrary_request_bytes_always_get_a_status(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 1..20)) {
        let runtime = runtime();
        runtime.block_on(async {
            let app = spawn_app().await;
            let channel = app.channel().await;
            for body in bodies {
                for path in [V1_RECOMMEND, "/Recommendations/Recommend"] {
                    let code = match call_raw(channel.clone(), path, body.clone()).await {
                        Ok(_) => Code::Ok,
                        Err(status) => status.code(),
                    };
                    // Decoding failures, validation and lookups; never
                    // UNKNOWN (a crash) or UNAVAILABLE (a dropped link).
                    let allowed = [Code::Ok, Code::InvalidArgument, Code::NotFound, Code::Internal];
                    assert!(allowed.contains(&code), "{path} {body:?} -> {code:?}");
                }
            }
            assert_still_serving(&app).await;
        });
    }
}

#[tokio::test]
async fn thousands_of_random_user_ids_add_no_metric_series() {
    use rand::RngExt as _;
    let process = testkit::process::Spec::new(env!("CARGO_BIN_EXE_recommendations"), "GRPC_ADDR")
        .start()
        .await;
    let client = RecommendationsServiceClient::new(testkit::grpc::channel(process.addr).await);
    let call = |user_id: i32| {
        let mut client = client.clone();
        async move {
            let request = RecommendRequest {
                user_id,
                category: 1,
                max_results: 1,
            };
            client.recommend(request).await.unwrap();
        }
    };
    call(1).await;
    let before = series(
        &crate::helpers::admin_get(process.admin_addr, "/metrics").await,
        "rpc_",
    );
    assert!(!before.is_empty());
    let mut ids = Vec::new();
    for _ in 0..2000 {
        let id: i32 = rand::rng().random();
        ids.push(id);
        call(id).await;
    }
    let exposition = crate::helpers::admin_get(process.admin_addr, "/metrics").await;
    assert_eq!(
        series(&exposition, "rpc_"),
        before,
        "user ids created series"
    );
    for id in ids.iter().take(50) {
        assert!(
            !exposition.contains(&format!("\"{id}\"")),
            "user id {id} in a label"
        );
    }
}
