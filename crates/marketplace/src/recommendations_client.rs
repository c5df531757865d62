//! The marketplace's one connection to Recommendations.
//!
//! A gRPC channel is expensive to set up (TCP, then the HTTP/2 handshake) and
//! cheap to share: it multiplexes every concurrent call over one connection.
//! So the process makes one at start-up and clones the handle per request,
//! as the tutorial advises. It connects lazily, so the marketplace starts and
//! reports ready even while Recommendations is down.

use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, BookRecommendation, RecommendRequest};
use telemetry::{GrpcClientLayer, GrpcClientService};
use tonic::transport::{Channel, Endpoint, Uri};

/// A cheap-to-clone client over the shared channel.
pub type Client = RecommendationsServiceClient<GrpcClientService<Channel>>;

/// Makes the shared, lazily connecting client.
pub fn connect_lazy(url: Uri) -> Client {
    let channel = Endpoint::from(url).connect_lazy();
    // Client spans, trace-context injection and client RED metrics per call.
    let channel = tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new())
        .service(channel);
    RecommendationsServiceClient::new(channel)
}

/// Asks for up to `max_results` books of `category` for `user_id`.
pub async fn recommend(
    client: &Client,
    user_id: i32,
    category: BookCategory,
    max_results: i32,
) -> Result<Vec<BookRecommendation>, tonic::Status> {
    let request = RecommendRequest {
        user_id,
        category: category as i32,
        max_results,
    };
    let response = client.clone().recommend(request).await?;
    Ok(response.into_inner().recommendations)
}
