//! The versioned `recommendations.v1.RecommendationsService` API. Unlike the
//! legacy API, its zero enum value means "unspecified" and is rejected.

use proto::v1::recommendations_service_server::{
    RecommendationsService, RecommendationsServiceServer,
};
use proto::v1::{BookCategory, BookRecommendation, RecommendRequest, RecommendResponse};
use tonic::{Request, Response, Status};

use crate::catalog::Category;
use crate::error::RecommendError;
use crate::recommender::{Recommender, ResultLimit};

/// The v1 API over a shared recommender.
#[derive(Debug, Clone)]
pub struct V1Api {
    recommender: Recommender,
}

impl V1Api {
    pub fn server(recommender: Recommender) -> RecommendationsServiceServer<V1Api> {
        RecommendationsServiceServer::new(V1Api { recommender })
    }
}

/// Maps the wire number; unset is INVALID_ARGUMENT and a number the enum
/// does not define is NOT_FOUND.
fn category(number: i32) -> Result<Category, RecommendError> {
    match BookCategory::try_from(number) {
        Ok(BookCategory::Unspecified) => Err(RecommendError::CategoryUnspecified),
        Ok(BookCategory::Mystery) => Ok(Category::Mystery),
        Ok(BookCategory::ScienceFiction) => Ok(Category::ScienceFiction),
        Ok(BookCategory::SelfHelp) => Ok(Category::SelfHelp),
        Err(_) => Err(RecommendError::CategoryNotFound),
    }
}

#[tonic::async_trait]
impl RecommendationsService for V1Api {
    async fn recommend(
        &self,
        request: Request<RecommendRequest>,
    ) -> Result<Response<RecommendResponse>, Status> {
        let request = request.into_inner();
        // Argument errors are reported before lookups, as AIP-193 orders them.
        let limit = ResultLimit::parse(request.max_results)?;
        let books = self
            .recommender
            .recommend(category(request.category)?, limit)
            .await?;
        let recommendations = books
            .into_iter()
            .map(|book| BookRecommendation {
                id: book.id,
                title: book.title.clone(),
            })
            .collect();
        Ok(Response::new(RecommendResponse { recommendations }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_is_invalid_and_unknown_numbers_are_not_found() {
        assert_eq!(category(0), Err(RecommendError::CategoryUnspecified));
        assert_eq!(category(1), Ok(Category::Mystery));
        assert_eq!(category(3), Ok(Category::SelfHelp));
        assert_eq!(category(99), Err(RecommendError::CategoryNotFound));
        assert_eq!(category(-1), Err(RecommendError::CategoryNotFound));
    }
}
