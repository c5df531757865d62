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
//! seconds, and calls that fail while a probe is out do not start another,
//! so a burst of failing calls costs one extra connection.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
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
    probing: Arc<AtomicBool>,
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
            probing: Arc::new(AtomicBool::new(false)),
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
        if self.probing.swap(true, Ordering::AcqRel) {
            return None;
        }
        // Cleared however the probe ends, a cancelled call's included.
        let _probing = Probing(&self.probing);
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

/// Marks a probe in flight until dropped.
struct Probing<'a>(&'a AtomicBool);

impl Drop for Probing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(all(test, feature = "dev-certs"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;
    use std::time::Duration;

    use tokio::io::AsyncWriteExt as _;

    use crate::dev::{DevCa, cert_path, key_path};
    use crate::{ClientIdentityArgs, ServerTlsArgs, UpstreamTls};

    /// A server requiring client certificates that writes a byte to every
    /// client it lets in: a stand-in for an h2 server's first frame.
    async fn serve(dir: &Path) -> u16 {
        let args = ServerTlsArgs {
            tls_cert: Some(cert_path(dir, "server")),
            tls_key: Some(key_path(dir, "server")),
            tls_client_ca: Some(dir.join(crate::dev::CA_CERT_FILE)),
            tls_allowed_clients: Some("client".parse().unwrap()),
            tls_handshake_timeout: Duration::from_secs(5),
        };
        let acceptor = args.load().unwrap().unwrap().acceptor(&[b"h2"]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (tcp, addr) = listener.accept().await.unwrap();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok((mut stream, _)) = acceptor.accept(tcp, Some(addr)).await {
                        let _ = stream.write_all(b"x").await;
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    }
                });
            }
        });
        port
    }

    fn probe(dir: &Path, port: u16, identity: Option<&str>) -> super::HandshakeProbe {
        let url = format!("https://localhost:{port}").parse().unwrap();
        let ca = dir.join(crate::dev::CA_CERT_FILE);
        let args = ClientIdentityArgs {
            tls_client_cert: identity.map(|s| cert_path(dir, s)),
            tls_client_key: identity.map(|s| key_path(dir, s)),
        };
        let upstream = UpstreamTls {
            url: &url,
            url_var: "UP_URL",
            ca: Some(&ca),
            ca_var: "UP_CA",
        };
        args.probe(upstream).unwrap().unwrap()
    }

    #[tokio::test]
    async fn the_probe_names_a_missing_certificate_and_passes_a_good_handshake() {
        let dir = std::env::temp_dir().join(format!("probe-{}", std::process::id()));
        let ca = DevCa::generate("probe CA").unwrap();
        ca.write_to(&dir).unwrap();
        for service in ["server", "client"] {
            ca.issue(service, &[]).unwrap().write_to(&dir).unwrap();
        }
        let port = serve(&dir).await;

        let anonymous = probe(&dir, port, None)
            .diagnose(Duration::from_secs(5))
            .await;
        assert!(
            anonymous
                .as_deref()
                .is_some_and(|d| d.contains("requires a client certificate")),
            "{anonymous:?}"
        );
        let allowed = probe(&dir, port, Some("client"))
            .diagnose(Duration::from_secs(5))
            .await;
        assert_eq!(allowed, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
