//! The service's one error type and its single mapping to `tonic::Status`:
//! the tutorial's exception-to-status interceptor, done with types.

use tonic::{Code, Status};

use crate::recommender::MAX_RESULTS_LIMIT;

/// Everything a `Recommend` call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecommendError {
    /// The category number is not one the API defines, or the catalogue has
    /// no books in it.
    #[error("category not found")]
    CategoryNotFound,
    /// v1 only: the client did not set `category`.
    #[error("category must be specified")]
    CategoryUnspecified,
    /// `max_results` is negative or above the documented limit.
    #[error("max_results must be between 0 and {MAX_RESULTS_LIMIT}, got {0}")]
    MaxResultsOutOfRange(i32),
    /// Fault injection chose this call to fail (`FAULT_ERROR_RATE`).
    #[error("service unavailable (injected fault)")]
    InjectedFault,
}

impl RecommendError {
    /// The gRPC code each error maps to. This match is the only place that
    /// decides it.
    pub fn code(&self) -> Code {
        match self {
            RecommendError::CategoryNotFound => Code::NotFound,
            RecommendError::CategoryUnspecified | RecommendError::MaxResultsOutOfRange(_) => {
                Code::InvalidArgument
            }
            RecommendError::InjectedFault => Code::Unavailable,
        }
    }
}

impl From<RecommendError> for Status {
    fn from(error: RecommendError) -> Status {
        Status::new(error.code(), error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_code_and_message() {
        let cases = [
            (
                RecommendError::CategoryNotFound,
                Code::NotFound,
                "category not found",
            ),
            (
                RecommendError::CategoryUnspecified,
                Code::InvalidArgument,
                "category must be specified",
            ),
            (
                RecommendError::MaxResultsOutOfRange(-1),
                Code::InvalidArgument,
                "max_results must be between 0 and 100, got -1",
            ),
        ];
        for (error, code, message) in cases {
            let status = Status::from(error);
            assert_eq!((status.code(), status.message()), (code, message));
        }
    }
}
