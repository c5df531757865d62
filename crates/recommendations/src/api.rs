//! The gRPC APIs: thin adapters from each wire format to the one
//! [`Recommender`](crate::recommender::Recommender).

pub mod legacy;
pub mod v1;
