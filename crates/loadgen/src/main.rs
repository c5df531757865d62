//! `loadgen`: browses the marketplace at a steady, gentle rate, with an
//! occasional request for a page that does not exist, so a fresh
//! `docker compose up` shows traffic, latency and 404s on the dashboards
//! within a minute. Not a benchmark tool: see `bench/` for that.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rand::RngExt as _;
use tokio::sync::Semaphore;

/// Browses the marketplace continuously, for demos and dashboards.
#[derive(Debug, clap::Parser)]
#[command(name = "loadgen", version, about, long_about = None)]
struct Config {
    /// The marketplace to browse.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:8080")]
    target_url: http::Uri,

    /// Page loads per second.
    #[arg(long, env = "RATE", default_value = "2", value_parser = parse_rate)]
    rate: f64,

    /// Every Nth request asks for a random page that does not exist (0: never).
    #[arg(long, env = "BAD_PATH_EVERY", default_value = "10")]
    bad_path_every: u64,

    /// Stop after this long (default: run until SIGTERM or Ctrl+C).
    #[arg(long, env = "DURATION", value_parser = humantime::parse_duration)]
    duration: Option<Duration>,

    /// How often to log a summary of what was sent and received.
    #[arg(long, env = "REPORT_EVERY", default_value = "30s", value_parser = humantime::parse_duration)]
    report_every: Duration,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate <= 1000.0 => Ok(rate),
        _ => Err("expected a rate from above 0 to 1000 per second".to_owned()),
    }
}

/// At most this many requests in flight: if the marketplace slows down, the
/// load generator skips ticks instead of piling up connections.
const MAX_IN_FLIGHT: usize = 32;

#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    ok: AtomicU64,
    not_found: AtomicU64,
    other: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
}

impl Counts {
    fn report(&self) {
        tracing::info!(
            sent = self.sent.load(Ordering::Relaxed),
            ok = self.ok.load(Ordering::Relaxed),
            not_found = self.not_found.load(Ordering::Relaxed),
            other_status = self.other.load(Ordering::Relaxed),
            failed = self.failed.load(Ordering::Relaxed),
            skipped = self.skipped.load(Ordering::Relaxed),
            "load so far"
        );
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let config: Config = lifecycle::parse_or_exit();
    tracing_subscriber::fmt().json().flatten_event(true).init();
    let base = config
        .target_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let client: Client<HttpConnector, Empty<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let counts = Arc::new(Counts::default());
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reports = tokio::time::interval(config.report_every);
    let stop = async {
        match config.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => shutdown_signal().await,
        }
    };
    tokio::pin!(stop);
    tracing::info!(target_url = %base, rate = config.rate, "browsing");
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = reports.tick() => { counts.report(); continue; }
            () = &mut stop => break,
        }
        n += 1;
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            counts.skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let path = if config.bad_path_every > 0 && n.is_multiple_of(config.bad_path_every) {
            format!("/no-such-page/{:08x}", rand::rng().random::<u32>())
        } else {
            "/".to_owned()
        };
        let Ok(uri) = format!("{base}{path}").parse::<http::Uri>() else {
            continue;
        };
        let (client, counts) = (client.clone(), counts.clone());
        tokio::spawn(async move {
            counts.sent.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(Duration::from_secs(10), async {
                let response = client.get(uri).await?;
                let status = response.status();
                // Read the whole page, as a browser would.
                let _ = response.into_body().collect().await;
                Ok::<_, hyper_util::client::legacy::Error>(status)
            })
            .await;
            let counter = match outcome {
                Ok(Ok(status)) if status.is_success() => &counts.ok,
                Ok(Ok(status)) if status == http::StatusCode::NOT_FOUND => &counts.not_found,
                Ok(Ok(_)) => &counts.other,
                _ => &counts.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    counts.report();
    ExitCode::SUCCESS
}

/// SIGTERM (docker stop) or SIGINT (Ctrl+C).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
