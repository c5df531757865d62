//! The counters of refused clients, in Prometheus' naming. Their `reason`
//! labels are short fixed sets: never an address or an identity, which a
//! client chooses.

/// Handshakes a server refused, by `reason` (see `RefusalReason`).
pub const HANDSHAKES_REFUSED: &str = "tls_server_handshakes_refused_total";

/// Calls refused by the allow-list, by `reason`: `not_allowed` (a service
/// not in `TLS_ALLOWED_CLIENTS`) or `no_identity` (a certificate that names
/// no service).
pub const CALLS_REFUSED: &str = "tls_server_calls_refused_total";

/// Gives the counters their help text, once a server turns TLS on.
pub(crate) fn describe() {
    metrics::describe_counter!(
        HANDSHAKES_REFUSED,
        "TLS handshakes this server refused, by reason (certificate_required, unknown_ca, \
         bad_certificate, client_alert, protocol, timeout, closed)."
    );
    metrics::describe_counter!(
        CALLS_REFUSED,
        "Calls refused because the client's certificate names a service not in \
         TLS_ALLOWED_CLIENTS (not_allowed) or no service at all (no_identity)."
    );
}
