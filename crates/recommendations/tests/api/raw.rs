//! Calls made with raw bytes, as a broken or hostile client would make them:
//! unknown methods and malformed protobuf.

use bytes::{Buf as _, BufMut as _};
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use crate::helpers::{SERVING, spawn_app};

/// A codec that sends and receives message bytes untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

pub async fn call_raw(
    channel: Channel,
    path: &'static str,
    body: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    grpc.unary(
        tonic::Request::new(body),
        http::uri::PathAndQuery::from_static(path),
        RawCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented() {
    let app = spawn_app().await;
    let status = call_raw(
        app.channel().await,
        "/recommendations.v1.RecommendationsService/Nope",
        vec![],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    let status = call_raw(app.channel().await, "/no.such.Service/Recommend", vec![])
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn malformed_request_bytes_get_an_error_status_and_the_server_stays_healthy() {
    let app = spawn_app().await;
    // Field 1 (user_id, a varint) sent with the length-delimited wire type,
    // followed by a length that runs past the end of the message.
    let malformed = vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01];
    for path in [
        "/Recommendations/Recommend",
        "/recommendations.v1.RecommendationsService/Recommend",
    ] {
        let status = call_raw(app.channel().await, path, malformed.clone())
            .await
            .unwrap_err();
        assert_ne!(status.code(), Code::Ok, "{path}");
        assert!(status.message().contains("decode"), "{path}: {status:?}");
    }
    assert_eq!(app.health("").await, SERVING);
}

#[tokio::test]
async fn a_well_formed_raw_request_is_answered() {
    // Guards the raw client itself: the failures above must come from the
    // bytes, not from the plumbing.
    let app = spawn_app().await;
    // category = 1 (SCIENCE_FICTION), max_results = 2, in the legacy API.
    let body = vec![0x10, 0x01, 0x18, 0x02];
    let answer = call_raw(app.channel().await, "/Recommendations/Recommend", body)
        .await
        .unwrap();
    assert!(!answer.is_empty());
}
