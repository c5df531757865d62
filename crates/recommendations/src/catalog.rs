//! The book catalogue: data, not code. The tutorial's nine books are embedded
//! as the default, and a JSON file named by config can replace them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The catalogue compiled into the binary: the tutorial's nine books.
const DEFAULT_CATALOG: &str = include_str!("catalog/default.json");

/// A category of books. The wire enums of both APIs map onto this one type,
/// so the rest of the service never sees their numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    Mystery,
    ScienceFiction,
    SelfHelp,
}

impl Category {
    /// Every category, in a fixed order.
    pub const ALL: [Category; 3] = [
        Category::Mystery,
        Category::ScienceFiction,
        Category::SelfHelp,
    ];

    /// The name the catalogue file and the legacy API use.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Mystery => "MYSTERY",
            Category::ScienceFiction => "SCIENCE_FICTION",
            Category::SelfHelp => "SELF_HELP",
        }
    }

    fn index(self) -> usize {
        match self {
            Category::Mystery => 0,
            Category::ScienceFiction => 1,
            Category::SelfHelp => 2,
        }
    }
}

/// One book, as the catalogue file spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Book {
    pub id: i32,
    pub title: String,
    pub category: Category,
}

/// Why a catalogue could not be loaded. Each variant reads as one line.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid catalog {path}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("invalid catalog {path}: book id {id} appears more than once")]
    DuplicateId { path: PathBuf, id: i32 },
    #[error("invalid catalog {path}: book id {id} has an empty title")]
    EmptyTitle { path: PathBuf, id: i32 },
    #[error("invalid catalog {path}: it has no books")]
    Empty { path: PathBuf },
}

/// Books grouped by category, validated once at start-up and read-only after.
#[derive(Debug, Clone)]
pub struct Catalog {
    by_category: [Vec<Book>; Category::ALL.len()],
}

impl Catalog {
    /// The embedded default catalogue.
    pub fn embedded() -> Catalog {
        // The embedded file is checked by `embedded_catalog_is_the_tutorials_nine_books`.
        #[allow(clippy::expect_used)]
        Catalog::parse(Path::new("<embedded>"), DEFAULT_CATALOG.as_bytes())
            .expect("the embedded catalog is valid")
    }

    /// Loads and validates a catalogue file. Runs once at start-up, before
    /// serving, so the blocking read never stalls a request.
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let bytes = std::fs::read(path).map_err(|source| CatalogError::Read {
            path: path.to_owned(),
            source,
        })?;
        Catalog::parse(path, &bytes)
    }

    /// Parses and validates catalogue JSON held in memory.
    pub fn from_json(bytes: &[u8]) -> Result<Catalog, CatalogError> {
        Catalog::parse(Path::new("<inline>"), bytes)
    }

    fn parse(path: &Path, bytes: &[u8]) -> Result<Catalog, CatalogError> {
        let books: Vec<Book> =
            serde_json::from_slice(bytes).map_err(|source| CatalogError::Parse {
                path: path.to_owned(),
                source,
            })?;
        if books.is_empty() {
            return Err(CatalogError::Empty {
                path: path.to_owned(),
            });
        }
        let mut ids = HashSet::new();
        let mut by_category: [Vec<Book>; 3] = Default::default();
        for book in books {
            if !ids.insert(book.id) {
                return Err(CatalogError::DuplicateId {
                    path: path.to_owned(),
                    id: book.id,
                });
            }
            if book.title.trim().is_empty() {
                return Err(CatalogError::EmptyTitle {
                    path: path.to_owned(),
                    id: book.id,
                });
            }
            by_category[book.category.index()].push(book);
        }
        Ok(Catalog { by_category })
    }

    /// The books of one category, empty if the catalogue has none.
    pub fn books(&self, category: Category) -> &[Book] {
        &self.by_category[category.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Catalog, CatalogError> {
        Catalog::parse(Path::new("test.json"), json.as_bytes())
    }

    #[test]
    fn embedded_catalog_is_the_tutorials_nine_books() {
        let catalog = Catalog::embedded();
        for (category, ids) in [
            (Category::Mystery, [1, 2, 3]),
            (Category::ScienceFiction, [4, 5, 6]),
            (Category::SelfHelp, [7, 8, 9]),
        ] {
            let got: Vec<i32> = catalog.books(category).iter().map(|b| b.id).collect();
            assert_eq!(got, ids, "{category:?}");
        }
        assert_eq!(
            catalog.books(Category::Mystery)[0].title,
            "The Maltese Falcon"
        );
    }

    #[test]
    fn a_file_replaces_the_default() {
        let catalog = parse(r#"[{"id": 42, "title": "Dracula", "category": "MYSTERY"}]"#).unwrap();
        assert_eq!(catalog.books(Category::Mystery).len(), 1);
        assert!(catalog.books(Category::SelfHelp).is_empty());
    }

    #[test]
    fn unknown_category_names_are_rejected() {
        let err = parse(r#"[{"id": 1, "title": "X", "category": "ROMANCE"}]"#).unwrap_err();
        let cause = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            cause.contains("unknown variant `ROMANCE`"),
            "{err}: {cause}"
        );
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let err = parse(
            r#"[{"id": 1, "title": "A", "category": "MYSTERY"},
                {"id": 1, "title": "B", "category": "SELF_HELP"}]"#,
        )
        .unwrap_err();
        assert!(
            matches!(err, CatalogError::DuplicateId { id: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_titles_and_empty_catalogues_are_rejected() {
        assert!(matches!(
            parse(r#"[{"id": 3, "title": " ", "category": "MYSTERY"}]"#),
            Err(CatalogError::EmptyTitle { id: 3, .. })
        ));
        assert!(matches!(parse("[]"), Err(CatalogError::Empty { .. })));
    }

    #[test]
    fn unknown_fields_and_malformed_json_are_rejected() {
        assert!(matches!(
            parse(r#"[{"id": 1, "title": "A", "category": "MYSTERY", "isbn": "x"}]"#),
            Err(CatalogError::Parse { .. })
        ));
        assert!(matches!(
            parse("{not json"),
            Err(CatalogError::Parse { .. })
        ));
    }

    #[test]
    fn a_missing_file_is_a_read_error_naming_the_path() {
        let err = Catalog::load(Path::new("/no/such/catalog.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read catalog /no/such/catalog.json"),
            "{err}"
        );
    }
}
