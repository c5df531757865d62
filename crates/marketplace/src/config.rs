//! Marketplace's configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use std::net::SocketAddr;
use std::time::Duration;

use lifecycle::ShutdownArgs;
use lifecycle::healthcheck::Command;
use tonic::transport::Uri;

/// The Marketplace web app of Online Books For You.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "marketplace", version, about, long_about = None)]
pub struct Config {
    /// Address of the public HTTP server.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,

    /// Address of the plain-HTTP admin server: /healthz, /readyz, /metrics.
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:9080")]
    pub admin_addr: SocketAddr,

    /// Where the Recommendations gRPC service is: http://host:port.
    #[arg(long, env = "RECOMMENDATIONS_URL", default_value = "http://localhost:50051", value_parser = parse_service_url)]
    pub recommendations_url: Uri,

    /// The whole time budget of one recommendation call, retries included.
    /// Sent to Recommendations as `grpc-timeout`; past it, the page renders
    /// without recommendations.
    #[arg(long, env = "RECOMMENDATIONS_DEADLINE", default_value = "400ms", value_parser = humantime::parse_duration)]
    pub recommendations_deadline: Duration,

    /// How long to wait for a TCP connection to a Recommendations instance.
    #[arg(long, env = "RECOMMENDATIONS_CONNECT_TIMEOUT", default_value = "250ms", value_parser = humantime::parse_duration)]
    pub recommendations_connect_timeout: Duration,

    /// How often to re-resolve the Recommendations host name, so instances
    /// that come and go (a headless Service's pods) are balanced over.
    #[arg(long, env = "RECOMMENDATIONS_RESOLVE_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub recommendations_resolve_interval: Duration,

    /// A client must send a request's headers within this time, or the
    /// connection is closed (the slowloris defence).
    #[arg(long, env = "HTTP_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub http_header_read_timeout: Duration,

    /// In development, a link from each page to its trace: a URL with
    /// `{trace_id}` where the id goes, e.g. a Grafana Explore URL. Unset, the
    /// page shows only the trace id.
    #[arg(long, env = "TRACE_LINK_TEMPLATE", value_parser = parse_trace_link_template)]
    pub trace_link_template: Option<String>,

    #[command(flatten)]
    pub tls: tls::ClientTlsArgs,

    #[command(flatten)]
    pub shutdown: ShutdownArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Accepts only absolute http(s) URLs with a host, so a typo fails at
/// start-up instead of on the first page load.
fn parse_service_url(value: &str) -> Result<Uri, String> {
    let uri: Uri = value.parse().map_err(|e| format!("not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err("expected http://host:port or https://host:port".to_owned()),
    }
}

/// Accepts http(s) URLs that contain `{trace_id}`.
fn parse_trace_link_template(value: &str) -> Result<String, String> {
    if !value.contains("{trace_id}") {
        return Err("must contain {trace_id}".to_owned());
    }
    if !(value.starts_with("http://") || value.starts_with("https://")) {
        return Err("must be an http(s) URL".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_need_an_http_scheme_and_a_host() {
        assert!(parse_service_url("http://localhost:50051").is_ok());
        assert!(parse_service_url("https://recommendations.books.svc:50051").is_ok());
        assert!(parse_service_url("localhost:50051").is_err());
        assert!(parse_service_url("ftp://host").is_err());
        assert!(parse_service_url("http://").is_err());
    }

    #[test]
    fn trace_link_templates_need_the_placeholder() {
        assert!(parse_trace_link_template("http://grafana:3000/explore?q={trace_id}").is_ok());
        assert!(parse_trace_link_template("http://grafana:3000/explore").is_err());
        assert!(parse_trace_link_template("javascript:alert({trace_id})").is_err());
    }
}
