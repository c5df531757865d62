//! The balanced channel to one upstream.
//!
//! A gRPC channel is expensive to set up and cheap to share: it multiplexes
//! every concurrent call. So a process makes one per upstream at start-up and
//! clones the handle per request, as the tutorial advises. It connects
//! lazily, so a service starts and reports ready even while its upstream is
//! down (a soft dependency), and it balances over every address the host
//! name resolves to (see `resolver.rs`).

use std::time::Duration;

use telemetry::{GrpcClientLayer, GrpcClientService};
use tonic::transport::{ClientTlsConfig, Endpoint, Uri};

use crate::args::{Upstream, UpstreamArgs};
use crate::call::Client;
use crate::resolver::{self, Dns, Resolve};

/// The channel every kit client calls through: tonic's balanced channel
/// under the telemetry client layer.
pub type Channel = GrpcClientService<tonic::transport::Channel>;

/// Why a client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("invalid {upstream} client configuration")]
    Transport {
        upstream: &'static str,
        #[source]
        source: tonic::transport::Error,
    },
    #[error(transparent)]
    Telemetry(#[from] telemetry::NotStarted),
}

/// Makes the client of one upstream. [`UpstreamArgs::connect`] is the usual
/// way; this is for the rare caller that changes a default.
#[derive(Debug)]
pub struct Connector<U, R = Dns> {
    args: UpstreamArgs<U>,
    tls: Option<ClientTlsConfig>,
    probe: Option<tls::HandshakeProbe>,
    resolver: R,
    telemetry: bool,
}

impl<U: Upstream> UpstreamArgs<U> {
    /// The client of this upstream, with the kit's defaults: DNS
    /// re-resolution, TLS as configured, and the telemetry layer. Must run
    /// inside the tokio runtime. `make` wraps the channel in the generated
    /// client, such as `MyServiceClient::new`.
    pub fn connect<C>(
        &self,
        identity: &tls::ClientIdentityArgs,
        make: impl FnOnce(Channel) -> C,
    ) -> Result<Client<C>, Error> {
        self.connector(identity)?.connect(make)
    }

    /// A [`Connector`], to change a default before connecting. Reads and
    /// checks the TLS files now.
    pub fn connector(&self, identity: &tls::ClientIdentityArgs) -> Result<Connector<U>, Error> {
        let has_identity = identity.tls_client_cert.is_some();
        if has_identity && self.url.scheme_str() != Some("https") {
            // Not an error: another upstream of the same process may be https.
            tracing::warn!(
                upstream = U::NAME,
                "TLS_CLIENT_CERT is set but {} is not https; calls to {} carry no client certificate",
                Self::var("url"),
                U::NAME,
            );
        }
        let upstream = tls::UpstreamTls {
            url: &self.url,
            url_var: &Self::var("url"),
            ca: self.ca.as_deref(),
            ca_var: &Self::var("ca"),
        };
        let tls = identity.load(upstream)?;
        let probe = identity.probe(upstream)?;
        Ok(Connector {
            args: self.clone(),
            tls,
            probe,
            resolver: Dns,
            telemetry: true,
        })
    }
}

impl<U: Upstream, R: Resolve> Connector<U, R> {
    /// Resolves the host name with `resolver` instead of DNS: in tests, where
    /// one name cannot resolve to several loopback servers.
    pub fn resolver<R2: Resolve>(self, resolver: R2) -> Connector<U, R2> {
        Connector {
            args: self.args,
            tls: self.tls,
            probe: self.probe,
            resolver,
            telemetry: self.telemetry,
        }
    }

    /// Calls without spans, metrics or `traceparent`: for the benchmarks'
    /// bare baseline, which measures what the layer costs.
    pub fn without_telemetry(mut self) -> Connector<U, R> {
        self.telemetry = false;
        self
    }

    /// Makes the channel and the client over it. Fails only on a TLS
    /// configuration tonic rejects, at start-up rather than on every
    /// endpoint later.
    pub fn connect<C>(self, make: impl FnOnce(Channel) -> C) -> Result<Client<C>, Error> {
        let invalid = |source| Error::Transport {
            upstream: U::NAME,
            source,
        };
        if let Some(tls) = &self.tls {
            Endpoint::from(self.args.url.clone())
                .tls_config(tls.clone())
                .map_err(invalid)?;
        }
        let (channel, changes) = tonic::transport::Channel::balance_channel(16);
        let connect_timeout = self.args.connect_timeout;
        let deadline = self.args.deadline;
        let tls = self.tls;
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
            self.resolver,
            self.args.url.clone(),
            self.args.resolve_interval,
            endpoint,
            changes,
        ));
        let layer = if self.telemetry {
            // Spans and metrics name the upstream as configured (a name
            // such as `recommendations`), not the address a call went to.
            let url = &self.args.url;
            let port = url.port_u16().unwrap_or(match url.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            GrpcClientLayer::new(url.host().unwrap_or_default(), port)?
        } else {
            GrpcClientLayer::disabled()
        };
        tracing::info!(upstream = U::NAME, url = %self.args.url, "upstream client configured");
        Ok(Client::new(
            make(tower::Layer::layer(&layer, channel)),
            self.args.deadline,
        )
        .with_probe(self.probe))
    }
}
