//! What a client says when the TLS handshake fails. tonic reports it as
//! `transport error` with the cause buried in the error's sources; this
//! finds rustls' reason there and says it in words, naming the setting
//! that fixes it.
//!
//! An alert the server sends after the client's side of the handshake is
//! done (TLS 1.3's `certificate_required`) reaches the client through h2,
//! which keeps an I/O error's message but not its type: so besides the
//! typed error, a source whose message is exactly rustls' own rendering of
//! a known error counts as that error.

use std::error::Error as StdError;

use rustls::{AlertDescription, CertificateError};

/// A one-line explanation if `error` (or one of its sources) is a failed
/// TLS handshake; `None` for any other error.
pub fn handshake_failure(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut source = Some(error);
    while let Some(error) = source {
        if let Some(rustls) = error.downcast_ref::<rustls::Error>() {
            return Some(explain(rustls));
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            if let Some(rustls) = inner.downcast_ref::<rustls::Error>() {
                return Some(explain(rustls));
            }
            let message = inner.to_string();
            if let Some(known) = RENDERED.iter().find(|e| e.to_string() == message) {
                return Some(explain(known));
            }
        }
        source = error.source();
    }
    None
}

/// The errors recognised by their message alone: the server's alerts.
const RENDERED: &[rustls::Error] = &[
    rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
    rustls::Error::AlertReceived(AlertDescription::UnknownCA),
    rustls::Error::AlertReceived(AlertDescription::BadCertificate),
    rustls::Error::AlertReceived(AlertDescription::CertificateExpired),
    rustls::Error::AlertReceived(AlertDescription::CertificateRevoked),
    rustls::Error::AlertReceived(AlertDescription::CertificateUnknown),
    rustls::Error::AlertReceived(AlertDescription::UnsupportedCertificate),
    rustls::Error::AlertReceived(AlertDescription::HandshakeFailure),
];

fn explain(error: &rustls::Error) -> String {
    let why = match error {
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate and none was sent \
             (set TLS_CLIENT_CERT and TLS_CLIENT_KEY)"
        }
        rustls::Error::AlertReceived(AlertDescription::UnknownCA) => {
            "the server does not trust the CA of this client's certificate (TLS_CLIENT_CERT)"
        }
        rustls::Error::AlertReceived(
            AlertDescription::BadCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate,
        ) => "the server refused this client's certificate (TLS_CLIENT_CERT)",
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure) => {
            "the server refused the handshake (a client certificate missing, or no \
             protocol in common)"
        }
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate is not signed by the CA this client trusts (<UPSTREAM>_CA)"
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the server's certificate does not name the host in <UPSTREAM>_URL",
        rustls::Error::InvalidCertificate(_) => "the server's certificate is not valid",
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS (is it plaintext? then use http://)"
        }
        _ => "the TLS handshake failed",
    };
    format!("TLS handshake refused: {why}; {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_required_alert_deep_in_the_sources_is_explained() {
        #[derive(Debug, thiserror::Error)]
        #[error("transport error")]
        struct Transport(#[source] std::io::Error);

        let alert = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        let error = Transport(std::io::Error::new(std::io::ErrorKind::InvalidData, alert));
        let explained = handshake_failure(&error).unwrap_or_default();
        assert!(
            explained.contains("requires a client certificate")
                && explained.contains("TLS_CLIENT_CERT"),
            "{explained}"
        );
    }

    #[test]
    fn an_alert_known_only_by_its_message_is_explained_too() {
        // What h2 hands on: the I/O error's kind and message, not its type.
        let rendered = rustls::Error::AlertReceived(AlertDescription::UnknownCA).to_string();
        let error = std::io::Error::new(std::io::ErrorKind::InvalidData, rendered);
        let explained = handshake_failure(&error).unwrap_or_default();
        assert!(explained.contains("does not trust the CA"), "{explained}");
    }

    #[test]
    fn other_errors_are_left_alone() {
        let error = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(handshake_failure(&error), None);
    }
}
