//! The gRPC client kit, generic over any upstream and any unary call: a
//! lazily connecting channel balanced over every address the upstream's
//! name resolves to, re-resolved as instances come and go; a deadline on
//! every call and retries only where safe; TLS and mutual TLS; and the
//! telemetry client layer. Settings come from the upstream's own prefix
//! (`<UPSTREAM>_URL`, `<UPSTREAM>_CA`, ...).
//!
//! ```ignore
//! #[command(flatten)]
//! pub greeter: grpc_client::UpstreamArgs<Greeter>,
//! // at start-up:
//! let greeter = config.greeter.connect(&config.tls_identity, GreeterClient::new)?;
//! // per request:
//! let reply = greeter.call(request, |mut c, r| async move { c.say_hello(r).await }).await?;
//! ```

mod args;
mod call;
mod channel;
mod resolver;

pub use args::{Upstream, UpstreamArgs};
pub use call::Client;
pub use channel::{Channel, Connector, Error};
pub use resolver::{Dns, Fixed, Resolve};
