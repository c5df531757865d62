//! The per-call side of the allow-list, shared by the gRPC and the web
//! server: a call from a client the allow-list does not name is refused,
//! with one log line naming that client, and counted. The servers turn the
//! refusal into PERMISSION_DENIED or 403.

use std::sync::Arc;
use std::time::Duration;

use crate::acceptor::Peer;
use crate::log_budget::LogBudget;
use crate::metrics::CALLS_REFUSED;

/// At most this many refused-call lines per window, per server: a service
/// that is refused stays refused, and its retry loop must not flood the
/// log. The counter counts every call.
const LOG_LINES: u32 = 10;
const LOG_WINDOW: Duration = Duration::from_secs(10);

/// Checks each call's [`Peer`] against the allow-list. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CallerCheck {
    enforced: bool,
    log: Arc<LogBudget>,
}

/// A refused call, already logged and counted: what to tell the caller.
#[derive(Debug)]
pub struct CallRefused {
    pub message: String,
}

impl CallerCheck {
    /// A check that is `enforced` (the server requires client
    /// certificates) or lets every call through (plaintext or TLS alone).
    pub fn new(enforced: bool) -> CallerCheck {
        CallerCheck {
            enforced,
            log: Arc::new(LogBudget::new(LOG_LINES, LOG_WINDOW)),
        }
    }

    /// The check of a server without mutual TLS: every call goes through.
    pub fn off() -> CallerCheck {
        CallerCheck::new(false)
    }

    pub fn is_enforced(&self) -> bool {
        self.enforced
    }

    /// Whether the call to `target` (a gRPC method or an HTTP path) from
    /// `peer` (the request's extension) may go on.
    pub fn check(&self, peer: Option<&Peer>, target: &str) -> Result<(), CallRefused> {
        if !self.enforced {
            return Ok(());
        }
        let (reason, client) = match peer {
            Some(peer) if peer.is_allowed() => return Ok(()),
            Some(peer) => match peer.client() {
                Some(client) if client.service().is_some() => ("not_allowed", client.to_string()),
                Some(client) => ("no_identity", client.to_string()),
                None => ("no_identity", "a client without a certificate".to_owned()),
            },
            // A request that did not come through the kit's TLS acceptor,
            // on a server that requires it: a wiring bug, so refuse.
            None => (
                "no_identity",
                "a connection the TLS acceptor did not see".to_owned(),
            ),
        };
        metrics::counter!(CALLS_REFUSED, "reason" => reason).increment(1);
        if let Some(left_out) = self.log.take() {
            tracing::warn!(
                client = %client,
                peer = %peer.and_then(Peer::addr).map_or_else(|| "unknown".to_owned(), |a| a.to_string()),
                path = target,
                reason,
                left_out,
                "call refused: the client is not in TLS_ALLOWED_CLIENTS"
            );
        }
        Err(CallRefused {
            message: format!("{client} may not call this service"),
        })
    }
}
