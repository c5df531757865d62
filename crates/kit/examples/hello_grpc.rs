//! A minimal gRPC service on the kit: `hello.v1.HelloService`, with its
//! config, its handler and its one error. The kit adds the rest: limits,
//! health tied to the drain, reflection, telemetry, probes and `--help`.
//! docs/writing-a-service.md quotes this file in full, and the kit's tests
//! (`tests/kit/docs.rs`) hold it to that.

use kit::grpc_server::{Error, GrpcServer, GrpcServerArgs};
use kit::{ServiceArgs, Shutdown, TcpListener};
use proto::hello::v1::hello_service_server::{HelloService, HelloServiceServer};
use proto::hello::v1::{SayHelloRequest, SayHelloResponse};
use tonic::{Request, Response, Status};

/// Greets people by name, over gRPC.
#[derive(Debug, clap::Parser)]
#[command(name = "hello-grpc", version)]
#[command(mut_arg("grpc_addr", |a| a.default_value("0.0.0.0:50041")))]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:9041")))]
pub struct Config {
    #[command(flatten)]
    pub grpc: GrpcServerArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, grpc.grpc_addr);

pub struct Hello;

#[tonic::async_trait]
impl HelloService for Hello {
    async fn say_hello(
        &self,
        request: Request<SayHelloRequest>,
    ) -> Result<Response<SayHelloResponse>, Status> {
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        let message = format!("Hello, {name}!");
        Ok(Response::new(SayHelloResponse { message }))
    }
}

pub async fn run(config: Config, listener: TcpListener, shutdown: Shutdown) -> Result<(), Error> {
    GrpcServer::new(&config.grpc)
        .add_service(HelloServiceServer::new(Hello))
        .descriptor_set(proto::hello::FILE_DESCRIPTOR_SET)
        .serve(listener, shutdown)
        .await
}

fn main() -> std::process::ExitCode {
    kit::main(run)
}
