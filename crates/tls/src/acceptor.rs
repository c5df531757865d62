//! The server's side of the handshake, on a connection the server has
//! accepted. The kit does this itself rather than through tonic's
//! `tls_config`, which drops a failed handshake without a word: here a
//! refused handshake is logged (within a budget) with the peer and the
//! reason, and counted, and the client's identity is read once per
//! connection for the allow-list.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;

use crate::allow::AllowedClients;
use crate::identity::ClientIdentity;
use crate::log_budget::LogBudget;
use crate::metrics::HANDSHAKES_REFUSED;

/// At most this many refused-handshake lines per window, per server.
const LOG_LINES: u32 = 10;
const LOG_WINDOW: Duration = Duration::from_secs(10);

/// Accepts TLS for one server. Cheap to clone: one per connection task.
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: tokio_rustls::TlsAcceptor,
    allowed: Option<Arc<AllowedClients>>,
    timeout: Duration,
    log: Arc<LogBudget>,
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("allowed", &self.allowed)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The other end of a TLS connection, as its handshake proved it: what a
/// server's layers (and handlers) read from a request's extensions.
#[derive(Debug, Clone)]
pub struct Peer {
    addr: Option<SocketAddr>,
    client: Option<ClientIdentity>,
    allowed: bool,
}

impl Peer {
    /// The client's address.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Who the client's certificate names; `None` without mutual TLS.
    pub fn client(&self) -> Option<&ClientIdentity> {
        self.client.as_ref()
    }

    /// Whether the allow-list lets this client call (always, without
    /// mutual TLS).
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }
}

/// Why a handshake failed. The reasons are the `reason` label of
/// `tls_server_handshakes_refused_total`: a short, fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// Mutual TLS, and the client sent no certificate.
    CertificateRequired,
    /// The client's certificate is not signed by `TLS_CLIENT_CA`.
    UnknownCa,
    /// The client's certificate is expired, not yet valid, not for client
    /// authentication, or otherwise unusable.
    BadCertificate,
    /// The client gave up on us: it does not trust this server's
    /// certificate, or it offered nothing we speak.
    ClientAlert,
    /// Not TLS at all (a plaintext client), or a broken handshake.
    Protocol,
    /// The client took longer than `TLS_HANDSHAKE_TIMEOUT`.
    Timeout,
    /// The connection closed mid-handshake.
    Closed,
}

impl RefusalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::CertificateRequired => "certificate_required",
            RefusalReason::UnknownCa => "unknown_ca",
            RefusalReason::BadCertificate => "bad_certificate",
            RefusalReason::ClientAlert => "client_alert",
            RefusalReason::Protocol => "protocol",
            RefusalReason::Timeout => "timeout",
            RefusalReason::Closed => "closed",
        }
    }

    fn of(error: &std::io::Error) -> RefusalReason {
        let Some(error) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return RefusalReason::Closed;
        };
        match error {
            rustls::Error::NoCertificatesPresented => RefusalReason::CertificateRequired,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                RefusalReason::UnknownCa
            }
            rustls::Error::InvalidCertificate(_) => RefusalReason::BadCertificate,
            rustls::Error::AlertReceived(
                AlertDescription::UnknownCA
                | AlertDescription::BadCertificate
                | AlertDescription::CertificateUnknown
                | AlertDescription::HandshakeFailure
                | AlertDescription::ProtocolVersion
                | AlertDescription::NoApplicationProtocol,
            ) => RefusalReason::ClientAlert,
            _ => RefusalReason::Protocol,
        }
    }
}

/// A refused handshake, already logged and counted.
#[derive(Debug)]
pub struct HandshakeRefused {
    pub reason: RefusalReason,
    pub detail: String,
}

impl TlsAcceptor {
    pub(crate) fn new(
        config: Arc<rustls::ServerConfig>,
        allowed: Option<Arc<AllowedClients>>,
        timeout: Duration,
    ) -> TlsAcceptor {
        TlsAcceptor {
            inner: tokio_rustls::TlsAcceptor::from(config),
            allowed,
            timeout,
            log: Arc::new(LogBudget::new(LOG_LINES, LOG_WINDOW)),
        }
    }

    /// The handshake on `io` (from `addr`), within the handshake timeout;
    /// then the client's identity against the allow-list. A client that is
    /// not on the list still connects: the server answers each of its calls
    /// PERMISSION_DENIED or 403, which tells it far more than a failed
    /// handshake would.
    pub async fn accept<IO>(
        &self,
        io: IO,
        addr: Option<SocketAddr>,
    ) -> Result<(TlsStream<IO>, Peer), HandshakeRefused>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let refused = match tokio::time::timeout(self.timeout, self.inner.accept(io)).await {
            Ok(Ok(stream)) => {
                let peer = self.peer(&stream, addr);
                return Ok((stream, peer));
            }
            Ok(Err(error)) => HandshakeRefused {
                reason: RefusalReason::of(&error),
                detail: error.to_string(),
            },
            Err(_elapsed) => HandshakeRefused {
                reason: RefusalReason::Timeout,
                detail: format!("no handshake within {:?}", self.timeout),
            },
        };
        metrics::counter!(HANDSHAKES_REFUSED, "reason" => refused.reason.as_str()).increment(1);
        if refused.reason == RefusalReason::Closed {
            // Mostly TCP port checks (a load balancer's, a test's), which
            // connect and leave: counted, but no news for the log.
            tracing::debug!(peer = ?addr, detail = %refused.detail, "TLS connection closed mid-handshake");
        } else if let Some(left_out) = self.log.take() {
            tracing::warn!(
                peer = %addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
                reason = refused.reason.as_str(),
                detail = %refused.detail,
                left_out,
                "TLS handshake refused"
            );
        }
        Err(refused)
    }

    fn peer<IO>(&self, stream: &TlsStream<IO>, addr: Option<SocketAddr>) -> Peer {
        let (_, session) = stream.get_ref();
        let client = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(ClientIdentity::of);
        let allowed = match (&self.allowed, &client) {
            (None, _) => true,
            (Some(allowed), Some(client)) => allowed.allows(client),
            // Mutual TLS verified a certificate, so this cannot happen; if
            // it ever did, refusing is the safe answer.
            (Some(_), None) => false,
        };
        Peer {
            addr,
            client,
            allowed,
        }
    }
}
