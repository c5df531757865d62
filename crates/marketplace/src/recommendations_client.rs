//! The marketplace's one client of Recommendations.
//!
//! A gRPC channel is expensive to set up and cheap to share: it multiplexes
//! every concurrent call. So the process makes one at start-up and clones the
//! handle per request, as the tutorial advises. It connects lazily, so the
//! marketplace starts and reports ready even while Recommendations is down
//! (a soft dependency), and it balances over every address the host name
//! resolves to (see `resolver.rs`).
//!
//! Every call has a deadline, sent to the server as `grpc-timeout`. A call is
//! retried only when that is safe and useful: UNAVAILABLE (nothing was
//! processed) and the CANCELLED a draining server's connection produces, at
//! most twice, with jittered backoff, and only while the deadline allows.

use std::time::{Duration, Instant};

use proto::v1::recommendations_service_client::RecommendationsServiceClient;
use proto::v1::{BookCategory, BookRecommendation, RecommendRequest};
use rand::RngExt as _;
use telemetry::{GrpcClientLayer, GrpcClientService};
use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Uri};

use crate::resolver::{self, Resolve};

/// A cheap-to-clone client over the shared channel.
pub type Client = RecommendationsServiceClient<GrpcClientService<Channel>>;

/// How the client talks to Recommendations.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub url: Uri,
    /// The whole budget of one recommendation, retries included.
    pub deadline: Duration,
    pub connect_timeout: Duration,
    pub resolve_interval: Duration,
    /// TLS (and the client certificate, for mutual TLS) when the URL is
    /// https.
    pub tls: Option<ClientTlsConfig>,
}

/// Retries after the first attempt, at most.
const MAX_RETRIES: u32 = 2;

/// The first backoff's upper bound; it doubles per retry (full jitter).
const BASE_BACKOFF: Duration = Duration::from_millis(20);

/// An attempt needs at least this much of the deadline left to be worth it.
const MIN_ATTEMPT: Duration = Duration::from_millis(10);

/// Makes the shared client: a balancing channel fed by `resolver`, wrapped in
/// the telemetry client layer. Must run inside the tokio runtime. Fails only
/// on a TLS configuration tonic rejects.
pub fn connect(
    settings: &ClientSettings,
    resolver: impl Resolve,
) -> Result<Client, tonic::transport::Error> {
    let channel = tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new())
        .service(channel(settings, resolver)?);
    Ok(RecommendationsServiceClient::new(channel))
}

/// The balancing channel alone, without the telemetry layer.
pub fn channel(
    settings: &ClientSettings,
    resolver: impl Resolve,
) -> Result<Channel, tonic::transport::Error> {
    let (channel, changes) = Channel::balance_channel(16);
    let connect_timeout = settings.connect_timeout;
    let deadline = settings.deadline;
    let tls = settings.tls.clone();
    // Fail at start-up on a TLS configuration tonic rejects, rather than
    // skipping every endpoint later.
    if let Some(tls) = &tls {
        Endpoint::from(settings.url.clone()).tls_config(tls.clone())?;
    }
    let endpoint = move |uri: Uri| {
        let endpoint = match &tls {
            Some(tls) => Endpoint::from(uri).tls_config(tls.clone())?,
            None => Endpoint::from(uri),
        };
        Ok(endpoint
            .connect_timeout(connect_timeout)
            // The server-side limit, as a backstop to `grpc-timeout`.
            .timeout(deadline)
            .tcp_nodelay(true)
            // Find dead peers (a pod gone without a FIN) between calls.
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10))
            .keep_alive_while_idle(true))
    };
    tokio::spawn(resolver::keep_resolved(
        resolver,
        settings.url.clone(),
        settings.resolve_interval,
        endpoint,
        changes,
    ));
    Ok(channel)
}

fn retryable(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::Cancelled)
}

/// Asks for up to `max_results` books of `category` for `user_id`, within
/// `deadline`, retrying where safe.
pub async fn recommend<T>(
    client: &RecommendationsServiceClient<T>,
    deadline: Duration,
    user_id: i32,
    category: BookCategory,
    max_results: i32,
) -> Result<Vec<BookRecommendation>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body> + Clone,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        let remaining = deadline.saturating_sub(started.elapsed());
        let mut request = tonic::Request::new(RecommendRequest {
            user_id,
            category: category as i32,
            max_results,
        });
        request.set_timeout(remaining);
        let status = match client.clone().recommend(request).await {
            Ok(response) => return Ok(response.into_inner().recommendations),
            Err(status) => status,
        };
        if !retryable(status.code()) || attempt >= MAX_RETRIES {
            return Err(status);
        }
        attempt += 1;
        let cap = BASE_BACKOFF * 2u32.pow(attempt - 1);
        let backoff = cap.mul_f64(rand::rng().random::<f64>());
        let remaining = deadline.saturating_sub(started.elapsed());
        if remaining < backoff + MIN_ATTEMPT {
            return Err(status);
        }
        tracing::debug!(code = ?status.code(), attempt, ?backoff, "retrying recommendations call");
        tokio::time::sleep(backoff).await;
    }
}
