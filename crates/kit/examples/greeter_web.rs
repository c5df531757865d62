//! A web service that calls another: its page greets the visitor through
//! the gRPC example, `hello_grpc`, with the kit's client (one lazy, balanced
//! channel, a deadline, safe retries, client telemetry). When the hello
//! service is down, the page degrades instead of failing.
//! docs/writing-a-service.md quotes this file in full ("Call another
//! service"), and the kit's tests (`tests/kit/docs.rs`) hold it to that.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kit::grpc_client::{Channel, Client, Upstream, UpstreamArgs};
use kit::http_server::{HttpServerArgs, WebServer};
use kit::tls::ClientIdentityArgs;
use kit::{ServiceArgs, Shutdown, TcpListener};
use proto::hello::v1::SayHelloRequest;
use proto::hello::v1::hello_service_client::HelloServiceClient;

/// The hello service, as this service's upstream. `NAME` prefixes its
/// settings: `GREETER_URL`, `--greeter-url`, ...
#[derive(Debug, Clone, Copy)]
pub struct Greeter;

impl Upstream for Greeter {
    const NAME: &'static str = "greeter";
    const DEFAULT_URL: &'static str = "http://localhost:50041";
}

/// Greets its visitors through the hello service.
#[derive(Debug, clap::Parser)]
#[command(name = "greeter-web", version)]
#[command(mut_arg("http_addr", |a| a.default_value("0.0.0.0:8046")))]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9046")))]
pub struct Config {
    #[command(flatten)]
    pub http: HttpServerArgs,
    #[command(flatten)]
    pub greeter: UpstreamArgs<Greeter>,
    /// This process's client certificate, for every https upstream.
    #[command(flatten)]
    pub tls_identity: ClientIdentityArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, http.http_addr);

#[derive(Debug, Clone)]
pub struct AppState {
    pub greeter: Client<HelloServiceClient<Channel>>,
}

/// Why the service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Http(#[from] kit::http_server::Error),
    #[error(transparent)]
    Client(#[from] kit::grpc_client::Error),
}

pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    // One client for the process, made once. It connects lazily, so this
    // service starts and is ready while the hello service is down.
    let state = AppState {
        greeter: config
            .greeter
            .connect(&config.tls_identity, HelloServiceClient::new)?,
    };
    let router = Router::new().route("/", get(index)).with_state(state);
    WebServer::new(router, &config.http)
        .serve(listener, shutdown)
        .await?;
    Ok(())
}

async fn index(State(state): State<AppState>) -> String {
    let request = SayHelloRequest {
        name: "visitor".to_owned(),
    };
    let answer = state
        .greeter
        .call(request, |mut client, request| async move {
            client.say_hello(request).await
        })
        .await;
    match answer {
        Ok(reply) => reply.message,
        // A soft dependency: the kit's client has already recorded the
        // failure (its span and metric, and one log line from `call`, with
        // this request's trace id), so the page degrades instead of failing.
        Err(_status) => "Hello!".to_owned(),
    }
}

fn main() -> std::process::ExitCode {
    kit::main(run)
}
