//! A minimal web service on the kit: one page. The kit adds the rest: the
//! hardened server, security headers, a 404 page, telemetry with
//! `traceresponse`, probes and `--help`.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use kit::http_server::{HttpServerArgs, WebServer};
use kit::{ServiceArgs, Shutdown, TcpListener};

/// Says hello, over HTTP.
#[derive(Debug, clap::Parser)]
#[command(name = "hello-web", version, about)]
struct Config {
    #[command(flatten)]
    http: HttpServerArgs,
    #[command(flatten)]
    service: ServiceArgs,
}

kit::service_config!(Config, service, http.http_addr);

async fn index() -> Html<&'static str> {
    Html("<!doctype html>\n<title>Hello</title>\n<h1>Hello from the kit</h1>\n")
}

async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), kit::http_server::Error> {
    let router = Router::new().route("/", get(index));
    WebServer::new(router, &config.http)
        .serve(listener, shutdown)
        .await
}

fn main() -> std::process::ExitCode {
    kit::main(run)
}
