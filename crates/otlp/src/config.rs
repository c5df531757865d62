//! Where and how spans are exported, from the OTLP exporter's standard
//! variables, as the OpenTelemetry specification defines them
//! (`specification/protocol/exporter.md`): for each setting the signal's own
//! variable (`OTEL_EXPORTER_OTLP_TRACES_*`) wins over the generic one
//! (`OTEL_EXPORTER_OTLP_*`), which wins over the default. A value this
//! exporter cannot honour is an error that names the variable, never a
//! silent fallback.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Uri};

/// The wire protocol of OTLP export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC, by default on port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, by default on port 4318.
    HttpProtobuf,
}

/// Which signal a setting is for: it names the signal's own variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// `TRACES` or `LOGS`, as in `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    fn variable_part(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Logs => "LOGS",
        }
    }

    /// The path an OTLP/HTTP receiver takes this signal on.
    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Logs => "v1/logs",
        }
    }
}

/// What the variables say, or the default: grpc, as this project's
/// collectors listen (the specification's default is `http/protobuf`, and
/// each SDK may choose; this one has always exported over gRPC).
const DEFAULT_PROTOCOL: Protocol = Protocol::Grpc;

/// How long one export may take, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A setting this exporter cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?}: {reason}")]
pub struct ConfigError {
    variable: String,
    value: String,
    reason: &'static str,
}

/// One signal's OTLP export settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub protocol: Protocol,
    /// For gRPC, the collector's base URL; for HTTP, the signal's full URL.
    pub endpoint: Uri,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub timeout: Duration,
}

impl Config {
    /// `signal`'s settings from the process environment.
    pub fn from_env(signal: Signal) -> Result<Config, ConfigError> {
        Config::from_lookup(signal, |name| std::env::var(name).ok())
    }

    /// `signal`'s settings, reading each variable through `var`.
    pub fn from_lookup(
        signal: Signal,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        // The signal's own variable, else the generic one; blank is unset.
        let setting = |name: &str| {
            let own = format!("OTEL_EXPORTER_OTLP_{}_{name}", signal.variable_part());
            let generic = format!("OTEL_EXPORTER_OTLP_{name}");
            [own, generic].into_iter().find_map(|variable| {
                var(&variable)
                    .map(|value| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
                    .map(|value| (variable, value))
            })
        };
        let error = |(variable, value): (String, String), reason| ConfigError {
            variable,
            value,
            reason,
        };

        let protocol = match setting("PROTOCOL") {
            None => DEFAULT_PROTOCOL,
            Some((_, value)) if value == "grpc" => Protocol::Grpc,
            Some((_, value)) if value == "http/protobuf" => Protocol::HttpProtobuf,
            Some(other) => {
                return Err(error(
                    other,
                    "this build exports OTLP as grpc or http/protobuf only",
                ));
            }
        };
        if let Some(compression) = setting("COMPRESSION").filter(|(_, value)| value != "none") {
            return Err(error(
                compression,
                "this build sends OTLP uncompressed only; unset it or set none",
            ));
        }

        let endpoint = match (setting("ENDPOINT"), protocol) {
            (None, Protocol::Grpc) => "http://localhost:4317".to_owned(),
            (None, Protocol::HttpProtobuf) => {
                format!("http://localhost:4318/{}", signal.http_path())
            }
            // The signal's own endpoint is the full URL; the generic one is
            // the base a path is added to, for HTTP.
            (Some((variable, value)), Protocol::HttpProtobuf)
                if !variable.contains(signal.variable_part()) =>
            {
                format!("{}/{}", value.trim_end_matches('/'), signal.http_path())
            }
            (Some((_, value)), _) => value,
        };
        let endpoint_setting = || {
            setting("ENDPOINT").unwrap_or_else(|| ("the default endpoint".into(), endpoint.clone()))
        };
        let endpoint: Uri = endpoint
            .parse()
            .map_err(|_| error(endpoint_setting(), "not a URL"))?;
        match endpoint.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(error(
                    endpoint_setting(),
                    "this build exports OTLP over plain http only: reach the collector on \
                     the node or the cluster network",
                ));
            }
            _ => return Err(error(endpoint_setting(), "the URL must start with http://")),
        }

        let timeout = match setting("TIMEOUT") {
            None => DEFAULT_TIMEOUT,
            Some(timeout) => match timeout.1.parse::<u64>() {
                Ok(millis) => Duration::from_millis(millis),
                Err(_) => return Err(error(timeout, "not a whole number of milliseconds")),
            },
        };

        let headers = match setting("HEADERS") {
            None => Vec::new(),
            Some(headers) => match parse_headers(&headers.1) {
                Some(parsed) => parsed,
                None => {
                    return Err(error(
                        headers,
                        "expected key=value pairs separated by commas, values URL-encoded",
                    ));
                }
            },
        };

        Ok(Config {
            protocol,
            endpoint,
            headers,
            timeout,
        })
    }
}

/// `key1=value1,key2=value2`, values percent-encoded; `None` if any pair is
/// not a valid header.
fn parse_headers(value: &str) -> Option<Vec<(HeaderName, HeaderValue)>> {
    value
        .split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let value = percent_encoding::percent_decode_str(value.trim())
                .decode_utf8()
                .ok()?;
            let name = HeaderName::from_bytes(key.trim().as_bytes()).ok()?;
            let value = HeaderValue::from_str(&value).ok()?;
            Some((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(signal: Signal, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(signal, |name| vars.get(name).cloned())
    }

    #[test]
    fn the_defaults_are_grpc_to_localhost_with_ten_seconds() {
        let config = config(Signal::Traces, &[]).unwrap();
        assert_eq!(config.protocol, Protocol::Grpc);
        assert_eq!(config.endpoint, "http://localhost:4317/");
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert!(config.headers.is_empty());
    }

    #[test]
    fn http_adds_the_signal_path_to_the_generic_endpoint_only() {
        let generic = config(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ],
        )
        .unwrap();
        assert_eq!(generic.protocol, Protocol::HttpProtobuf);
        assert_eq!(generic.endpoint, "http://collector:4318/v1/traces");
        let logs = config(
            Signal::Logs,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ],
        )
        .unwrap();
        assert_eq!(logs.endpoint, "http://collector:4318/v1/logs");
        let own = config(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:9/custom"),
            ],
        )
        .unwrap();
        assert_eq!(own.endpoint, "http://c:9/custom");
        let default = config(
            Signal::Logs,
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
        );
        assert_eq!(default.unwrap().endpoint, "http://localhost:4318/v1/logs");
    }

    #[test]
    fn the_signals_own_variables_win() {
        let config = config(
            Signal::Traces,
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "250"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
            ],
        )
        .unwrap();
        assert_eq!(config.protocol, Protocol::Grpc);
        assert_eq!(config.timeout, Duration::from_millis(250));
        assert_eq!(config.endpoint, "http://traces:4317/");
    }

    #[test]
    fn headers_are_pairs_with_url_encoded_values() {
        let config = config(
            Signal::Traces,
            &[(
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Basic%20YWxh, x-tenant = books ,",
            )],
        )
        .unwrap();
        let headers: Vec<(&str, &str)> = config
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            headers,
            [("authorization", "Basic YWxh"), ("x-tenant", "books")]
        );
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_naming_the_variable() {
        for (vars, variable) in [
            (
                vec![("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift")],
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
                "OTEL_EXPORTER_OTLP_COMPRESSION",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")],
                "OTEL_EXPORTER_OTLP_TIMEOUT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_HEADERS", "no-equals-sign")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
        ] {
            let error = config(Signal::Traces, &vars).unwrap_err();
            assert!(
                error.to_string().starts_with(&format!("{variable}=")),
                "{error}"
            );
        }
        assert!(
            config(
                Signal::Traces,
                &[("OTEL_EXPORTER_OTLP_COMPRESSION", "none")]
            )
            .is_ok()
        );
    }
}
