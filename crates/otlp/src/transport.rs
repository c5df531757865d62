//! Sending an encoded export request: OTLP/gRPC through a tonic channel,
//! or OTLP/HTTP through hyper. Either way the request runs on the tokio
//! runtime the exporter was built on, so it works when awaited from the
//! SDK's batch thread, which has no runtime of its own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Uri};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message as _;
use tokio::runtime::Handle;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Channel, Endpoint};

use crate::config::{Config, Protocol};

/// Why an export request failed as a whole.
pub(crate) type SendError = Box<dyn std::error::Error + Send + Sync>;

/// An exporter was built outside a tokio runtime, which its requests need.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("OTLP export needs a tokio runtime: build the exporter inside one")]
pub struct NoRuntime;

/// The OTLP/gRPC method of trace export.
const TRACE_EXPORT: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The most of a collector's answer read: it is a small message, or an
/// error page.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// A collector, by one protocol.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    Grpc {
        grpc: tonic::client::Grpc<Channel>,
        metadata: tonic::metadata::MetadataMap,
    },
    Http {
        client: Box<HttpClient>,
        endpoint: Uri,
        headers: HeaderMap,
    },
}

impl Transport {
    /// Connects lazily to the collector `config` names. Call it inside the
    /// tokio runtime that is to carry the requests.
    pub(crate) fn new(config: &Config) -> Result<Transport, NoRuntime> {
        // tonic's lazy channel spawns its worker here, and would panic.
        Handle::try_current().map_err(|_| NoRuntime)?;
        let headers: HeaderMap = config.headers.iter().cloned().collect();
        Ok(match config.protocol {
            Protocol::Grpc => {
                let channel = Endpoint::from(config.endpoint.clone())
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout)
                    .tcp_nodelay(true)
                    .connect_lazy();
                Transport::Grpc {
                    grpc: tonic::client::Grpc::new(channel),
                    metadata: tonic::metadata::MetadataMap::from_headers(headers),
                }
            }
            Protocol::HttpProtobuf => Transport::Http {
                client: Box::new(HttpClient::new(config.timeout)?),
                endpoint: config.endpoint.clone(),
                headers,
            },
        })
    }

    /// Sends one encoded `ExportTraceServiceRequest`; returns how many spans
    /// the collector said it rejected.
    pub(crate) async fn send(&self, body: Bytes) -> Result<u64, SendError> {
        let answer = match self {
            Transport::Grpc { grpc, metadata } => {
                let mut grpc = grpc.clone();
                grpc.ready().await?;
                let request = tonic::Request::from_parts(
                    metadata.clone(),
                    tonic::Extensions::default(),
                    body,
                );
                let path = http::uri::PathAndQuery::from_static(TRACE_EXPORT);
                grpc.unary(request, path, RawCodec).await?.into_inner()
            }
            Transport::Http {
                client,
                endpoint,
                headers,
            } => {
                let mut request = http::Request::post(endpoint.clone()).body(body)?;
                request.headers_mut().extend(headers.clone());
                request.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-protobuf"),
                );
                let response = client.send(request).await?;
                if !response.status().is_success() {
                    return Err(format!("the collector answered {}", response.status()).into());
                }
                response.into_body()
            }
        };
        // An `ExportTraceServiceResponse`: only a partial success says
        // anything.
        let answer = ExportResponse::decode(answer)?;
        Ok(answer
            .partial_success
            .map_or(0, |partial| partial.rejected_spans.max(0) as u64))
    }
}

/// `ExportTraceServiceResponse`, the part of it read here.
#[derive(Clone, PartialEq, prost::Message)]
struct ExportResponse {
    #[prost(message, optional, tag = "1")]
    partial_success: Option<PartialSuccess>,
}

/// `ExportTracePartialSuccess`.
#[derive(Clone, PartialEq, prost::Message)]
struct PartialSuccess {
    #[prost(int64, tag = "1")]
    rejected_spans: i64,
    #[prost(string, tag = "2")]
    error_message: String,
}

/// A gRPC codec for a request that is already encoded, and an answer kept
/// as its bytes.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
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
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// An HTTP client whose requests run on the tokio runtime it was made on,
/// with a timeout on each, and at most [`MAX_ANSWER_BYTES`] of an answer
/// read. It also serves `opentelemetry-otlp`'s HTTP log exporter, as its
/// `HttpClient`: that one's own hyper client needs a runtime where it is
/// called, and the batch thread has none.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: Handle,
    timeout: Duration,
}

impl HttpClient {
    /// A client on the current tokio runtime.
    pub fn new(timeout: Duration) -> Result<HttpClient, NoRuntime> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        Ok(HttpClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            runtime: Handle::try_current().map_err(|_| NoRuntime)?,
            timeout,
        })
    }

    /// Sends `request`, and reads the whole answer.
    pub(crate) async fn send(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, SendError> {
        let client = self.client.clone();
        let timeout = self.timeout;
        let exchange = async move {
            let response = client.request(request.map(Full::new)).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES).collect().await?;
            Ok::<_, SendError>(http::Response::from_parts(parts, body.to_bytes()))
        };
        let exchange = self
            .runtime
            .spawn(async move { tokio::time::timeout(timeout, exchange).await });
        match exchange.await? {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {timeout:?}").into()),
        }
    }
}

impl opentelemetry_http::HttpClient for HttpClient {
    fn send_bytes<'client, 'call>(
        &'client self,
        request: http::Request<Bytes>,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<http::Response<Bytes>, opentelemetry_http::HttpError>>
                + Send
                + 'call,
        >,
    >
    where
        'client: 'call,
        Self: 'call,
    {
        Box::pin(self.send(request))
    }
}
