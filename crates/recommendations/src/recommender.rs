//! The one implementation behind both APIs: validate the request, then pick
//! distinct books of a category at random.

use std::sync::Arc;

use rand::seq::IndexedRandom as _;

use crate::catalog::{Book, Catalog, Category};
use crate::error::RecommendError;
use crate::faults::Faults;

/// The largest `max_results` a client may ask for. Larger values are
/// rejected rather than clamped, so a client bug shows up as an error.
pub const MAX_RESULTS_LIMIT: i32 = 100;

/// What `max_results = 0` means: the server default, as in AIP-158 page sizes.
/// proto3 cannot tell an unset field from 0, so 0 must mean "not said".
pub const DEFAULT_MAX_RESULTS: usize = 3;

/// A validated `max_results`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultLimit(usize);

impl ResultLimit {
    /// Checks a wire `max_results`: 0 is the default, 1 to 100 are taken as
    /// they are, anything else is INVALID_ARGUMENT.
    pub fn parse(max_results: i32) -> Result<ResultLimit, RecommendError> {
        match max_results {
            0 => Ok(ResultLimit(DEFAULT_MAX_RESULTS)),
            1..=MAX_RESULTS_LIMIT => Ok(ResultLimit(max_results as usize)),
            _ => Err(RecommendError::MaxResultsOutOfRange(max_results)),
        }
    }

    /// The number of books asked for.
    pub fn get(self) -> usize {
        self.0
    }
}

/// Picks books from a shared, read-only catalogue. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Recommender {
    catalog: Arc<Catalog>,
    faults: Faults,
}

impl Recommender {
    pub fn new(catalog: Catalog) -> Recommender {
        Recommender::with_faults(catalog, Faults::default())
    }

    /// A recommender that injects `faults` into every call.
    pub fn with_faults(catalog: Catalog, faults: Faults) -> Recommender {
        Recommender {
            catalog: Arc::new(catalog),
            faults,
        }
    }

    /// Returns `min(limit, books in category)` distinct books in random order.
    ///
    /// The sample is sized by the books that exist, never by the request, so a
    /// huge `max_results` cannot size an allocation.
    ///
    /// Its span, `catalog.sample`, is at DEBUG: the work is a draw from
    /// memory, which the call's own span already times, so it is recorded
    /// only where `RUST_LOG` asks for this crate's debug spans
    /// (`RUST_LOG=info,recommendations=debug`).
    #[tracing::instrument(
        name = "catalog.sample",
        level = "debug",
        skip_all,
        fields(book.category = category.as_str(), limit = limit.get())
    )]
    pub async fn recommend(
        &self,
        category: Category,
        limit: ResultLimit,
    ) -> Result<Vec<&Book>, RecommendError> {
        self.faults.inject().await?;
        let books = self.catalog.books(category);
        if books.is_empty() {
            return Err(RecommendError::CategoryNotFound);
        }
        let amount = limit.get().min(books.len());
        Ok(books.sample(&mut rand::rng(), amount).collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn zero_means_the_default_of_three() {
        assert_eq!(ResultLimit::parse(0), Ok(ResultLimit(3)));
    }

    #[test]
    fn limits_from_one_to_the_cap_are_accepted() {
        assert_eq!(ResultLimit::parse(1), Ok(ResultLimit(1)));
        assert_eq!(ResultLimit::parse(MAX_RESULTS_LIMIT), Ok(ResultLimit(100)));
    }

    #[test]
    fn negative_and_oversized_limits_are_invalid() {
        for bad in [-1, i32::MIN, MAX_RESULTS_LIMIT + 1, i32::MAX] {
            assert_eq!(
                ResultLimit::parse(bad),
                Err(RecommendError::MaxResultsOutOfRange(bad)),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn answers_hold_min_of_limit_and_category_size_distinct_books() {
        let recommender = Recommender::new(Catalog::embedded());
        for asked in 1..=5 {
            let books = recommender
                .recommend(Category::SelfHelp, ResultLimit::parse(asked).unwrap())
                .await
                .unwrap();
            assert_eq!(books.len(), (asked as usize).min(3));
            let ids: HashSet<i32> = books.iter().map(|b| b.id).collect();
            assert_eq!(ids.len(), books.len(), "duplicates in {books:?}");
            assert!(books.iter().all(|b| b.category == Category::SelfHelp));
        }
    }

    #[tokio::test]
    async fn picks_vary_between_calls() {
        let recommender = Recommender::new(Catalog::embedded());
        let limit = ResultLimit::parse(1).unwrap();
        let mut firsts = HashSet::new();
        for _ in 0..200 {
            firsts.insert(
                recommender
                    .recommend(Category::Mystery, limit)
                    .await
                    .unwrap()[0]
                    .id,
            );
        }
        assert_eq!(
            firsts.len(),
            3,
            "200 single picks should cover all three books"
        );
    }

    #[tokio::test]
    async fn a_category_without_books_is_not_found() {
        let catalog =
            Catalog::from_json(br#"[{"id": 1, "title": "A", "category": "MYSTERY"}]"#).unwrap();
        let recommender = Recommender::new(catalog);
        assert_eq!(
            recommender
                .recommend(Category::SelfHelp, ResultLimit::parse(3).unwrap())
                .await,
            Err(RecommendError::CategoryNotFound)
        );
    }

    mod properties {
        use std::collections::HashSet;

        use proptest::prelude::*;

        use super::super::*;
        use crate::catalog::Category;

        proptest! {
            #[test]
            fn limits_are_accepted_exactly_from_0_to_the_cap(max_results in any::<i32>()) {
                match ResultLimit::parse(max_results) {
                    Ok(limit) => {
                        prop_assert!((0..=MAX_RESULTS_LIMIT).contains(&max_results));
                        prop_assert!((1..=MAX_RESULTS_LIMIT as usize).contains(&limit.get()));
                    }
                    Err(error) => {
                        prop_assert!(!(0..=MAX_RESULTS_LIMIT).contains(&max_results));
                        prop_assert_eq!(error, RecommendError::MaxResultsOutOfRange(max_results));
                    }
                }
            }

            #[test]
            fn answers_are_distinct_books_of_the_category_never_more_than_asked(
                max_results in 0..=MAX_RESULTS_LIMIT,
                category in prop::sample::select(Category::ALL.to_vec()),
            ) {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .unwrap();
                let recommender = Recommender::new(Catalog::embedded());
                let limit = ResultLimit::parse(max_results).unwrap();
                let books = runtime.block_on(recommender.recommend(category, limit)).unwrap();
                prop_assert_eq!(books.len(), limit.get().min(3));
                let ids: HashSet<i32> = books.iter().map(|b| b.id).collect();
                prop_assert_eq!(ids.len(), books.len());
                prop_assert!(books.iter().all(|b| b.category == category));
            }
        }
    }
}
