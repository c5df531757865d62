//! Marketplace's configuration: every setting is a flag and an environment
//! variable, parsed once at start-up.

use kit::ServiceArgs;
use kit::grpc_client::{Upstream, UpstreamArgs};
use kit::http_server::HttpServerArgs;
use kit::tls::ClientIdentityArgs;

/// The Marketplace web app of Online Books For You.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "marketplace", version, about, long_about = None)]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9080")))]
pub struct Config {
    #[command(flatten)]
    pub http: HttpServerArgs,

    /// `RECOMMENDATIONS_URL`, `RECOMMENDATIONS_DEADLINE` (past it, the page
    /// renders without recommendations), `RECOMMENDATIONS_CA`, ...
    #[command(flatten)]
    pub recommendations: UpstreamArgs<Recommendations>,

    #[command(flatten)]
    pub tls_identity: ClientIdentityArgs,

    /// In development, a link from each page to its trace: a URL with
    /// `{trace_id}` where the id goes, e.g. a Grafana Explore URL. Unset, the
    /// page shows only the trace id.
    #[arg(long, env = "TRACE_LINK_TEMPLATE", value_parser = parse_trace_link_template)]
    pub trace_link_template: Option<String>,

    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, http.http_addr);

/// The Recommendations gRPC service, as the marketplace's upstream.
#[derive(Debug, Clone, Copy)]
pub struct Recommendations;

impl Upstream for Recommendations {
    const NAME: &'static str = "recommendations";
    const DEFAULT_URL: &'static str = "http://localhost:50051";
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
    fn trace_link_templates_need_the_placeholder() {
        assert!(parse_trace_link_template("http://grafana:3000/explore?q={trace_id}").is_ok());
        assert!(parse_trace_link_template("http://grafana:3000/explore").is_err());
        assert!(parse_trace_link_template("javascript:alert({trace_id})").is_err());
    }
}
