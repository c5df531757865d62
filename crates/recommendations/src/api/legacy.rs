//! The tutorial's unversioned `Recommendations` API, served unchanged so the
//! tutorial's own clients keep working. Its enum numbering (`MYSTERY = 0`) is
//! mapped here and nowhere else.

use proto::legacy::recommendations_server::{Recommendations, RecommendationsServer};
use proto::legacy::{
    BookCategory, BookRecommendation, RecommendationRequest, RecommendationResponse,
};
use tonic::{Request, Response, Status};

use crate::catalog::Category;
use crate::error::RecommendError;
use crate::recommender::{Recommender, ResultLimit};

/// The legacy API over a shared recommender.
#[derive(Debug, Clone)]
pub struct LegacyApi {
    recommender: Recommender,
}

impl LegacyApi {
    pub fn server(recommender: Recommender) -> RecommendationsServer<LegacyApi> {
        RecommendationsServer::new(LegacyApi { recommender })
    }
}

/// Maps the wire number; a number the enum does not define is NOT_FOUND, as
/// in the tutorial, instead of prost's silent fallback to `MYSTERY`.
fn category(number: i32) -> Result<Category, RecommendError> {
    match BookCategory::try_from(number) {
        Ok(BookCategory::Mystery) => Ok(Category::Mystery),
        Ok(BookCategory::ScienceFiction) => Ok(Category::ScienceFiction),
        Ok(BookCategory::SelfHelp) => Ok(Category::SelfHelp),
        Err(_) => Err(RecommendError::CategoryNotFound),
    }
}

#[tonic::async_trait]
impl Recommendations for LegacyApi {
    async fn recommend(
        &self,
        request: Request<RecommendationRequest>,
    ) -> Result<Response<RecommendationResponse>, Status> {
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
        Ok(Response::new(RecommendationResponse { recommendations }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorials_numbering_maps_and_unknown_numbers_are_not_found() {
        assert_eq!(category(0), Ok(Category::Mystery));
        assert_eq!(category(1), Ok(Category::ScienceFiction));
        assert_eq!(category(2), Ok(Category::SelfHelp));
        assert_eq!(category(99), Err(RecommendError::CategoryNotFound));
        assert_eq!(category(i32::MIN), Err(RecommendError::CategoryNotFound));
    }
}
