//! Why calls to an https upstream fail at the transport: one handshake
//! made on purpose, to read the server's verdict.
//!
//! With TLS 1.3 a server refuses a client's certificate (or its lack of
//! one) only after the client has finished its side of the handshake, by
//! which time the client has already sent its request. The request then
//! fails as `connection closed`, and the server's alert goes to the
//! connection's task, which tonic drops. So when a call fails that way,
//! the client kit makes one connection of its own with the same settings,
//! sends the HTTP/2 preface, and reads the first answer: the alert, named
//! in words by [`crate::handshake_failure`], or the server's frames (then
//! the handshake was not the problem). The answer is kept for a few
//! seconds, so a burst of failing calls costs one extra connection.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long a diagnosis is reused before another probe.
const REUSE: Duration = Duration::from_secs(5);

/// The HTTP/2 connection preface and an empty SETTINGS frame: what makes
/// an h2 server answer.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// The last diagnosis and when it was made.
type Recent = Option<(Instant, Option<String>)>;

/// One upstream's probe. Cheap to clone.
#[derive(Clone)]
pub struct HandshakeProbe {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
    authority: String,
    recent: Arc<Mutex<Recent>>,
}

impl fmt::Debug for HandshakeProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandshakeProbe")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl HandshakeProbe {
    pub(crate) fn new(
        config: rustls::ClientConfig,
        server_name: ServerName<'static>,
        authority: String,
    ) -> HandshakeProbe {
        HandshakeProbe {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
            authority,
            recent: Arc::new(Mutex::new(None)),
        }
    }

    /// Why a TLS handshake with the upstream fails, in one line, found
    /// within `budget`; `None` if the handshake succeeds or no answer came.
    pub async fn diagnose(&self, budget: Duration) -> Option<String> {
        {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, answer)) = recent.as_ref()
                && at.elapsed() < REUSE
            {
                return answer.clone();
            }
        }
        let answer = tokio::time::timeout(budget, self.probe())
            .await
            .ok()
            .flatten();
        *self.recent.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), answer.clone()));
        answer
    }

    async fn probe(&self) -> Option<String> {
        let addresses = tokio::net::lookup_host(&self.authority).await.ok()?;
        for address in addresses {
            let Ok(tcp) = tokio::net::TcpStream::connect(address).await else {
                continue;
            };
            let mut stream = match self.connector.connect(self.server_name.clone(), tcp).await {
                Ok(stream) => stream,
                Err(error) => return crate::handshake_failure(&error),
            };
            if let Err(error) = stream.write_all(H2_PREFACE).await {
                return crate::handshake_failure(&error);
            }
            let mut first = [0; 1];
            return match stream.read(&mut first).await {
                Ok(_) => None,
                Err(error) => crate::handshake_failure(&error),
            };
        }
        None
    }
}
