//! One upstream's settings, as flags and environment variables under the
//! upstream's own prefix: `--recommendations-url` and `RECOMMENDATIONS_URL`,
//! `RECOMMENDATIONS_CA`, `RECOMMENDATIONS_DEADLINE`, ...
//!
//! clap's derive needs literal names, so this one `Args` implementation is
//! written against clap's builder API, and derives every name from
//! [`Upstream::NAME`]. A service flattens one `UpstreamArgs<U>` per upstream.

use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Arg, ArgMatches, Command, FromArgMatches};
use tonic::transport::Uri;

/// Names an upstream service, for its settings and its telemetry. Implement
/// it on a unit struct:
///
/// ```
/// #[derive(Debug, Clone, Copy)]
/// struct Recommendations;
///
/// impl grpc_client::Upstream for Recommendations {
///     const NAME: &'static str = "recommendations";
///     const DEFAULT_URL: &'static str = "http://localhost:50051";
/// }
/// ```
pub trait Upstream: std::fmt::Debug + Clone + Send + Sync + 'static {
    /// The upstream's name, lower case with `-` or `_`: the flags' prefix,
    /// and, upper-cased with `_`, the environment variables'.
    const NAME: &'static str;
    /// Where it is when nothing says otherwise.
    const DEFAULT_URL: &'static str;
    /// The whole budget of one call, retries included.
    const DEFAULT_DEADLINE: &'static str = "400ms";
}

/// The settings of upstream `U`. See the module docs for the names.
#[derive(Debug, Clone)]
pub struct UpstreamArgs<U> {
    /// Where the upstream is: `http(s)://host:port`.
    pub url: Uri,
    /// The CA its server certificate must chain to, for an https URL.
    pub ca: Option<PathBuf>,
    /// The whole budget of one call, retries included; sent as
    /// `grpc-timeout`.
    pub deadline: Duration,
    /// How long to wait for a TCP connection to one instance.
    pub connect_timeout: Duration,
    /// How often the host name is re-resolved, so instances that come and
    /// go are balanced over.
    pub resolve_interval: Duration,
    upstream: PhantomData<U>,
}

/// The names of one setting: the flag, the clap id and the variable.
pub(crate) struct Names {
    pub(crate) id: String,
    pub(crate) flag: String,
    pub(crate) var: String,
}

impl Names {
    pub(crate) fn of<U: Upstream>(setting: &str) -> Names {
        let prefix = U::NAME.replace('-', "_");
        Names {
            id: format!("{prefix}_{setting}"),
            flag: format!("{prefix}_{setting}").replace('_', "-"),
            var: format!("{prefix}_{setting}").to_uppercase(),
        }
    }

    fn arg(self, help: String) -> Arg {
        Arg::new(self.id).long(self.flag).env(self.var).help(help)
    }
}

const URL: &str = "url";
const CA: &str = "ca";
const DEADLINE: &str = "deadline";
const CONNECT_TIMEOUT: &str = "connect_timeout";
const RESOLVE_INTERVAL: &str = "resolve_interval";

impl<U: Upstream> clap::Args for UpstreamArgs<U> {
    fn augment_args(command: Command) -> Command {
        let name = U::NAME;
        let duration = humantime::parse_duration;
        command
            .arg(
                Names::of::<U>(URL)
                    .arg(format!(
                        "Where the {name} gRPC service is: http(s)://host:port"
                    ))
                    .value_name("URL")
                    .default_value(U::DEFAULT_URL)
                    .value_parser(parse_service_url),
            )
            .arg(
                Names::of::<U>(CA)
                    .arg(format!(
                        "PEM CA certificate(s) that sign the {name} server's certificate. \
                         Required with an https URL"
                    ))
                    .value_name("PATH")
                    .value_parser(clap::value_parser!(PathBuf)),
            )
            .arg(
                Names::of::<U>(DEADLINE)
                    .arg(format!(
                        "The whole time budget of one call to {name}, retries included; \
                         sent as grpc-timeout"
                    ))
                    .value_name("DURATION")
                    .default_value(U::DEFAULT_DEADLINE)
                    .value_parser(duration),
            )
            .arg(
                Names::of::<U>(CONNECT_TIMEOUT)
                    .arg(format!(
                        "How long to wait for a TCP connection to a {name} instance"
                    ))
                    .value_name("DURATION")
                    .default_value("250ms")
                    .value_parser(duration),
            )
            .arg(
                Names::of::<U>(RESOLVE_INTERVAL)
                    .arg(format!(
                        "How often to re-resolve the {name} host name, so instances that \
                         come and go (a headless Service's pods) are balanced over"
                    ))
                    .value_name("DURATION")
                    .default_value("10s")
                    .value_parser(duration),
            )
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl<U: Upstream> FromArgMatches for UpstreamArgs<U> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let value = |setting: &str| -> Result<Duration, clap::Error> {
            let names = Names::of::<U>(setting);
            matches
                .get_one::<Duration>(&names.id)
                .copied()
                .ok_or_else(|| missing(&names))
        };
        let url = Names::of::<U>(URL);
        Ok(UpstreamArgs {
            url: matches
                .get_one::<Uri>(&url.id)
                .cloned()
                .ok_or_else(|| missing(&url))?,
            ca: matches.get_one::<PathBuf>(&Names::of::<U>(CA).id).cloned(),
            deadline: value(DEADLINE)?,
            connect_timeout: value(CONNECT_TIMEOUT)?,
            resolve_interval: value(RESOLVE_INTERVAL)?,
            upstream: PhantomData,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl<U: Upstream> UpstreamArgs<U> {
    /// The variable a setting comes from, such as `RECOMMENDATIONS_CA`.
    pub fn var(setting: &str) -> String {
        Names::of::<U>(setting).var
    }
}

fn missing(names: &Names) -> clap::Error {
    clap::Error::raw(
        clap::error::ErrorKind::MissingRequiredArgument,
        format!("{} is required", names.var),
    )
}

/// Accepts only absolute http(s) URLs with a host, so a typo fails at
/// start-up instead of on the first call.
fn parse_service_url(value: &str) -> Result<Uri, String> {
    let uri: Uri = value.parse().map_err(|e| format!("not a URL: {e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err("expected http://host:port or https://host:port".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, Clone, Copy)]
    struct Books;

    impl Upstream for Books {
        const NAME: &'static str = "book-store";
        const DEFAULT_URL: &'static str = "http://localhost:1234";
    }

    #[derive(Debug, clap::Parser)]
    struct Config {
        #[command(flatten)]
        books: UpstreamArgs<Books>,
    }

    #[test]
    fn names_derive_from_the_upstream_name() {
        let names = Names::of::<Books>("connect_timeout");
        assert_eq!(names.flag, "book-store-connect-timeout");
        assert_eq!(names.var, "BOOK_STORE_CONNECT_TIMEOUT");
    }

    #[test]
    fn flags_parse_and_defaults_apply() {
        let config = Config::try_parse_from([
            "test",
            "--book-store-url=https://books.svc:443",
            "--book-store-ca=/ca.pem",
            "--book-store-deadline=1s",
        ])
        .unwrap();
        assert_eq!(config.books.url, "https://books.svc:443");
        assert_eq!(config.books.ca, Some(PathBuf::from("/ca.pem")));
        assert_eq!(config.books.deadline, Duration::from_secs(1));
        assert_eq!(config.books.connect_timeout, Duration::from_millis(250));

        let defaults = Config::try_parse_from(["test"]).unwrap();
        assert_eq!(defaults.books.url, "http://localhost:1234");
        assert_eq!(defaults.books.deadline, Duration::from_millis(400));
    }

    #[test]
    fn service_urls_need_an_http_scheme_and_a_host() {
        assert!(parse_service_url("http://localhost:50051").is_ok());
        assert!(parse_service_url("https://recommendations.books.svc:50051").is_ok());
        assert!(parse_service_url("localhost:50051").is_err());
        assert!(parse_service_url("ftp://host").is_err());
        assert!(parse_service_url("http://").is_err());
        assert!(Config::try_parse_from(["test", "--book-store-url=books:1"]).is_err());
    }
}
