//! The service's one error type and its single mapping to `tonic::Status`.

use tonic::{Code, Status};

/// Everything a call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkeletonError {
    /// The request has no id (proto3 cannot tell unset from 0).
    #[error("id must be set")]
    IdMissing,
    /// No item has this id.
    #[error("item {0} not found")]
    ItemNotFound(u64),
    // xtask:calls {
    /// The callee service did not answer in time, or answered an error.
    #[error("CALLEE_NAME unavailable: {0}")]
    CalleeUnavailable(String),
    // xtask:}
}

impl SkeletonError {
    /// The gRPC code each error maps to. This match is the only place that
    /// decides it.
    pub fn code(&self) -> Code {
        match self {
            SkeletonError::IdMissing => Code::InvalidArgument,
            SkeletonError::ItemNotFound(_) => Code::NotFound,
            // xtask:calls {
            SkeletonError::CalleeUnavailable(_) => Code::Unavailable,
            // xtask:}
        }
    }
}

impl From<SkeletonError> for Status {
    fn from(error: SkeletonError) -> Status {
        Status::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_code() {
        assert_eq!(Status::from(SkeletonError::IdMissing).code(), Code::InvalidArgument);
        assert_eq!(Status::from(SkeletonError::ItemNotFound(7)).code(), Code::NotFound);
    }
}
