//! The SKELETON_NAME service's configuration: every setting is a flag and an
//! environment variable, parsed once at start-up; `--help` lists them.

use kit::ServiceArgs;
// xtask:calls-any {
use kit::grpc_client::UpstreamArgs;
use kit::tls::ClientIdentityArgs;
// xtask:}
use kit::grpc_server::GrpcServerArgs;

/// The SKELETON_NAME gRPC service.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about, long_about = None)]
// Default ports that no other service of this repository uses, so that all
// of them run on one machine with no config.
#[command(mut_arg("grpc_addr", |a| a.default_value("0.0.0.0:SKELETON_PORT")))]
#[command(mut_arg("admin_addr", |a| a.default_value("0.0.0.0:SKELETON_ADMIN_PORT")))]
pub struct Config {
    #[command(flatten)]
    pub grpc: GrpcServerArgs,

    // xtask:calls {
    /// `CALLEE_URL`, `CALLEE_DEADLINE`, `CALLEE_CA`, ...
    #[command(flatten)]
    pub callee: UpstreamArgs<Callee>,

    // xtask:}
    // xtask:calls-any {
    #[command(flatten)]
    pub tls_identity: ClientIdentityArgs,

    // xtask:}
    #[command(flatten)]
    pub service: ServiceArgs,
}

kit::service_config!(Config, service, grpc.grpc_addr);
// xtask:calls {

/// The callee gRPC service, as this service's upstream.
#[derive(Debug, Clone, Copy)]
pub struct Callee;

impl kit::grpc_client::Upstream for Callee {
    const NAME: &'static str = "CALLEE_NAME";
    const DEFAULT_URL: &'static str = "http://localhost:CALLEE_PORT";
}
// xtask:}
