//! A minimal web service on the kit: one page. The kit adds the rest: the
//! hardened server, security headers, a 404 page, telemetry with
//! `traceresponse`, probes and `--help`. docs/writing-a-service.md quotes
//! this file in full, and the kit's tests (`tests/kit/docs.rs`) hold it to
//! that.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use kit::http_server::{Error, HttpServerArgs, WebServer};
use kit::{ServiceArgs, Shutdown, TcpListener};

/// Says hello, over HTTP.
#[derive(Debug, clap::Parser)]
#[command(name = "hello-web", version)]
#[command(mut_arg("http_addr", |a| a.default_value("0.0.0.0:8045")))]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9045")))]
pub struct Config {
    #[command(flatten)]
    pub http: HttpServerArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, http.http_addr);

async fn index() -> Html<&'static str> {
    Html("<!doctype html>\n<title>Hello</title>\n<h1>Hello from the kit</h1>\n")
}

pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    let router = Router::new().route("/", get(index));
    WebServer::new(router, &config.http)
        .serve(listener, shutdown)
        .await
}

fn main() -> std::process::ExitCode {
    kit::main(run)
}
