//! The handler of `skeleton.v1.SkeletonService`: input validation, the
//! lookup, and every failure as a `SkeletonError`.

use std::collections::BTreeMap;
use std::sync::Arc;

use proto::skeleton::v1::skeleton_service_server::{SkeletonService, SkeletonServiceServer};
use proto::skeleton::v1::{GetItemRequest, GetItemResponse, Item};
use tonic::{Request, Response, Status};
// xtask:calls-any-other {
use tonic_health::pb::HealthCheckRequest;
// xtask:}

use crate::error::SkeletonError;
// xtask:calls-generated {

/// The callee client: callee's own API client (from `proto`) on the kit's
/// balanced channel, with its deadline and safe retries.
pub type CalleeClient = kit::grpc_client::Client<
    proto::callee::v1::callee_service_client::CalleeServiceClient<kit::grpc_client::Channel>,
>;
// xtask:}
// xtask:calls-other {

/// The callee client: the kit's balanced channel, with its deadline and
/// safe retries. The example asks callee's health; replace it with callee's
/// own API client (in `proto`) and call that instead.
pub type CalleeClient = kit::grpc_client::Client<
    tonic_health::pb::health_client::HealthClient<kit::grpc_client::Channel>,
>;
// xtask:}

/// The service's state: its items and its upstream clients. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SkeletonApi {
    /// Example data; replace it with your storage.
    pub items: Arc<BTreeMap<u64, String>>,
    // xtask:calls {
    pub callee: CalleeClient,
    // xtask:}
}

/// The example items.
pub fn example_items() -> BTreeMap<u64, String> {
    BTreeMap::from([(1, "First item".to_owned()), (2, "Second item".to_owned())])
}

impl SkeletonApi {
    /// The tonic service, for the kit's gRPC server.
    pub fn server(self) -> SkeletonServiceServer<SkeletonApi> {
        SkeletonServiceServer::new(self)
    }

    /// Finds item `id`. Argument errors come before lookups.
    #[tracing::instrument(skip(self))]
    async fn find(&self, id: u64) -> Result<Item, SkeletonError> {
        if id == 0 {
            return Err(SkeletonError::IdMissing);
        }
        // xtask:calls-generated {
        // The example asks callee for the same item: one this service serves
        // must exist there too.
        self.callee
            .call(proto::callee::v1::GetItemRequest { id }, |mut client, request| async move {
                client.get_item(request).await
            })
            .await
            .map_err(|status| match status.code() {
                tonic::Code::NotFound => SkeletonError::ItemNotFound(id),
                _ => SkeletonError::CalleeUnavailable(status.message().to_owned()),
            })?;
        // xtask:}
        // xtask:calls-other {
        self.callee
            .call(HealthCheckRequest::default(), |mut client, request| async move {
                client.check(request).await
            })
            .await
            .map_err(|status| SkeletonError::CalleeUnavailable(status.message().to_owned()))?;
        // xtask:}
        let name = self.items.get(&id).ok_or(SkeletonError::ItemNotFound(id))?;
        Ok(Item {
            id,
            name: name.clone(),
        })
    }
}

#[tonic::async_trait]
impl SkeletonService for SkeletonApi {
    async fn get_item(
        &self,
        request: Request<GetItemRequest>,
    ) -> Result<Response<GetItemResponse>, Status> {
        let item = self.find(request.into_inner().id).await?;
        Ok(Response::new(GetItemResponse { item: Some(item) }))
    }
}
