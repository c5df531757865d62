//! The gRPC example as its clients see it: answers and errors, the request
//! size limit, RED metrics on the admin port, and server reflection.

use std::net::SocketAddr;

use proto::hello::v1::SayHelloResponse;
use testkit::grpc::reflected_services;
use testkit::http::sample;
use tonic::{Code, Response, Status};

use crate::helpers::{
    HELLO_SERVICE, channel, eventually, hello_client, metrics, say_hello_to, start_grpc,
};

const MIB: usize = 1024 * 1024;

/// The kit's request message limit.
const LIMIT: usize = 64 * 1024;

/// The length of a name whose `SayHelloRequest` encodes to exactly `LIMIT`
/// bytes: one tag byte and a three-byte length (lengths from 2^14 to 2^21
/// take three varint bytes), then the name.
const NAME_AT_THE_LIMIT: usize = LIMIT - 1 - 3;

/// The status of a call that should have failed. A greeting that came back
/// instead is summed up, not printed: it may be megabytes long.
fn refusal(result: Result<Response<SayHelloResponse>, Status>) -> Status {
    match result {
        Ok(reply) => panic!(
            "the call succeeded, with a greeting of {} bytes",
            reply.get_ref().message.len()
        ),
        Err(status) => status,
    }
}

#[tokio::test]
async fn say_hello_greets_by_name_and_refuses_an_empty_name() {
    let process = start_grpc(&[]).await;
    let mut client = hello_client(process.addr).await;

    let reply = client.say_hello(say_hello_to("Ada")).await.unwrap();
    assert_eq!(reply.into_inner().message, "Hello, Ada!");

    let status = refusal(client.say_hello(say_hello_to("")).await);
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn an_8_mib_request_is_refused_as_out_of_range_and_the_server_stays_up() {
    let process = start_grpc(&[]).await;
    // tonic's client refuses to send more than 4 MiB unless told otherwise;
    // the server's limit is what is under test, so lift the client's.
    let mut client = hello_client(process.addr)
        .await
        .max_encoding_message_size(16 * MIB);

    let status = refusal(client.say_hello(say_hello_to("x".repeat(8 * MIB))).await);
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // The refusal cost the caller one call, not the connection.
    let reply = client.say_hello(say_hello_to("Ada")).await.unwrap();
    assert_eq!(reply.into_inner().message, "Hello, Ada!");
}

#[tokio::test]
async fn a_request_of_exactly_64_kib_is_served_and_one_byte_more_is_out_of_range() {
    let process = start_grpc(&[]).await;
    let mut client = hello_client(process.addr).await;

    let at_the_limit = say_hello_to("x".repeat(NAME_AT_THE_LIMIT));
    assert_eq!(prost::Message::encoded_len(&at_the_limit), LIMIT);
    let reply = client.say_hello(at_the_limit).await.unwrap();
    assert_eq!(reply.into_inner().message.len(), NAME_AT_THE_LIMIT + 8);

    let over = say_hello_to("x".repeat(NAME_AT_THE_LIMIT + 1));
    let status = refusal(client.say_hello(over).await);
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}

/// The `rpc_server_call_duration_seconds_count` of `SayHello` calls that
/// ended with `status`, or what the exposition holds instead.
async fn say_hello_count(admin_addr: SocketAddr, status: &str) -> Result<f64, String> {
    let exposition = metrics(admin_addr).await;
    let status = format!("rpc_response_status_code=\"{status}\"");
    let labels = ["rpc_method=\"hello.v1.HelloService/SayHello\"", &status];
    sample(
        &exposition,
        "rpc_server_call_duration_seconds_count{",
        &labels,
    )
    .ok_or_else(|| format!("no sample with {labels:?} in:\n{exposition}"))
}

#[tokio::test]
async fn calls_are_counted_by_method_and_status_in_rpc_server_call_duration_seconds() {
    let process = start_grpc(&[]).await;
    let mut client = hello_client(process.addr).await;
    for _ in 0..3 {
        client.say_hello(say_hello_to("Ada")).await.unwrap();
    }
    client.say_hello(say_hello_to("")).await.unwrap_err();

    // A call's duration is recorded as its response finishes, which may be
    // just after the client has it.
    let admin_addr = process.admin_addr;
    for (status, calls) in [("OK", 3.0), ("INVALID_ARGUMENT", 1.0)] {
        eventually(
            &format!("{calls} {status} SayHello calls counted"),
            || async move {
                match say_hello_count(admin_addr, status).await? {
                    count if count == calls => Ok(()),
                    count => Err(format!("a count of {count}")),
                }
            },
        )
        .await;
    }
}

#[tokio::test]
async fn reflection_lists_the_hello_service_and_health() {
    let process = start_grpc(&[]).await;
    let names = reflected_services(channel(process.addr).await).await;
    // Exactly what is served: a listed service that is not served sends
    // grpcurl users to an UNIMPLEMENTED.
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            HELLO_SERVICE,
        ],
    );
}

#[test]
fn a_tls_certificate_without_its_key_is_one_line_that_names_the_key() {
    // `config_error` asserts the refusal and that it is one line.
    let stderr = testkit::process::config_error(
        crate::helpers::example("hello_grpc"),
        "GRPC_ADDR",
        &[("TLS_CERT", "/tmp/server.pem")],
    );
    assert!(stderr.contains("TLS_KEY"), "{stderr}");
}
