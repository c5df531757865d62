//! Shared test plumbing: the service in-process on loopback.

use testkit::Spawned;

/// Starts the service on loopback, with its upstreams stood in for.
pub async fn spawn_app() -> Spawned<skeleton::Error> {
    let flags: Vec<String> = vec![
        // xtask:calls-generated {
        format!("--CALLEE_NAME-url=http://{}", spawn_callee().await),
        // xtask:}
        // xtask:calls-other {
        format!("--CALLEE_NAME-url=http://{}", testkit::grpc::spawn_health_server().await),
        // xtask:}
    ];
    testkit::spawn(skeleton::run, flags).await
}
// xtask:calls-generated {

/// A stand-in for callee on loopback: its own API (from `proto`), answering
/// every id with an item.
async fn spawn_callee() -> std::net::SocketAddr {
    use proto::callee::v1::callee_service_server::{CalleeService, CalleeServiceServer};
    use proto::callee::v1::{GetItemRequest, GetItemResponse, Item};

    #[derive(Debug)]
    struct CalleeStandIn;

    #[tonic::async_trait]
    impl CalleeService for CalleeStandIn {
        async fn get_item(
            &self,
            request: tonic::Request<GetItemRequest>,
        ) -> Result<tonic::Response<GetItemResponse>, tonic::Status> {
            let id = request.into_inner().id;
            let item = Item { id, name: format!("Item {id}") };
            Ok(tonic::Response::new(GetItemResponse { item: Some(item) }))
        }
    }

    let routes = tonic::service::Routes::new(CalleeServiceServer::new(CalleeStandIn));
    testkit::grpc::serve(routes).await
}
// xtask:}
