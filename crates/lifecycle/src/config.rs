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
            // clap's rendering adds a usage hint on further lines; operators
            // reading a crash-looping pod's log want the one line that matters.
            let rendered = error.render().to_string();
            let line = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid configuration");
            eprintln!("{line}");
            std::process::exit(2);
        }
    }
}
