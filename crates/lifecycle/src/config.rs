//! Start-up configuration shared by every service: parsing that fails with
//! one clear line, and the drain settings every service takes.

use std::time::Duration;

/// The drain settings, as flags and environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct ShutdownArgs {
    /// How long to keep serving after SIGTERM while readiness reads "not
    /// ready", so Kubernetes endpoints and load balancers stop sending new
    /// work first. SIGINT skips it.
    #[arg(long, env = "SHUTDOWN_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,

    /// The most time in-flight requests get to finish once the server stops
    /// accepting. The default keeps delay + timeout inside Kubernetes' default
    /// 30 s grace period.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Parses flags and environment into `T`. `--help` and `--version` print and
/// exit 0; any error prints one line to stderr and exits 2.
pub fn parse_or_exit<T: clap::Parser>() -> T {
    match T::try_parse() {
        Ok(config) => config,
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) {
                // Help and version go to stdout with a zero exit, as clap does.
                let _ = error.print();
                std::process::exit(0);
            }
            eprintln!("{}", one_line(&error));
            std::process::exit(2);
        }
    }
}

/// A clap error as one line: operators reading a crash-looping pod's log
/// want the line that matters, not clap's usage hint. clap puts what matters
/// in its first paragraph, which for some errors goes on below the first
/// line: "the following required arguments were not provided:" lists the
/// arguments on the lines after it. Those lines are kept, joined.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let mut lines = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim);
    let first = lines.next().unwrap_or("error: invalid configuration");
    let rest: Vec<&str> = lines.collect();
    if rest.is_empty() {
        first.to_owned()
    } else {
        format!("{first} {}", rest.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Config {
        #[arg(long, env = "TEST_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<String>,
        #[arg(long, env = "TEST_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<String>,
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        delay: Duration,
    }

    fn error_of(args: &[&str]) -> String {
        let error = Config::try_parse_from(args).unwrap_err();
        one_line(&error)
    }

    #[test]
    fn a_missing_required_argument_is_named_on_the_one_line() {
        let line = error_of(&["test", "--tls-cert", "cert.pem"]);
        assert!(!line.contains('\n'), "{line:?}");
        assert_eq!(
            line,
            "error: the following required arguments were not provided: --tls-key <TLS_KEY>"
        );
    }

    #[test]
    fn an_invalid_value_is_its_first_line_without_the_usage_hint() {
        let line = error_of(&["test", "--delay", "soon"]);
        assert!(!line.contains('\n'), "{line:?}");
        assert!(
            line.starts_with("error: invalid value 'soon' for '--delay <DELAY>'"),
            "{line:?}"
        );
        assert!(!line.contains("--help"), "{line:?}");
    }
}
