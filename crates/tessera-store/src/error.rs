//! Store errors.

/// What can go wrong in the store. Callers match on `NotFound` and `Conflict`; anything else is
/// an internal error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write (the constraint or index name, when known).
    #[error("conflict on {0}")]
    Conflict(String),
    #[error("{0}")]
    BadUrl(String),
    #[error("database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.constraint().unwrap_or(db.message()).to_owned())
            }
            // A row the write refers to is gone (e.g. deleted by a concurrent request).
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
            _ => StoreError::Db(e),
        }
    }
}
