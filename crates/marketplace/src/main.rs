//! The `marketplace` binary: the kit's runner around the library, where
//! everything testable lives.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::main(marketplace::run).await
}
