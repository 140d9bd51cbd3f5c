//! Store errors.

/// What can go wrong in the store. Callers match on `NotFound` and `Conflict`; `Unavailable`
/// becomes a 503 the client may retry; anything else is an internal error.
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
    /// The database cannot be reached or cannot take writes just now (PostgreSQL down or
    /// restarting, connections cut, the pool exhausted past its timeout; SQLite's disk full,
    /// read-only or locked). Nothing was committed; the request may be retried.
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
}

/// Whether an error says the database is away or cannot write, rather than that the request
/// was wrong: connection and pool failures, PostgreSQL's connection-exception (08…),
/// shutdown (57P01–57P03) and insufficient-resources (53…) states, and SQLite's BUSY, LOCKED,
/// READONLY, IOERR, FULL and CANTOPEN codes.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                return code.starts_with("08")
                    || code.starts_with("53")
                    || matches!(&*code, "57P01" | "57P02" | "57P03");
            }
            // SQLite: the primary result code is the low byte of the extended one.
            code.parse::<i64>()
                .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
        }
        _ => false,
    }
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
            _ if is_unavailable(&e) => StoreError::Unavailable(e),
            _ => StoreError::Db(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;
    use std::str::FromStr;

    /// A database that cannot take writes (read-only here) is "unavailable", not a bug.
    #[tokio::test]
    async fn read_only_sqlite_is_unavailable() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("ro.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut rw = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("{e}"))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut rw)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ro = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap_or_else(|e| panic!("{e}"))
            .read_only(true)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let err = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut ro)
            .await
            .expect_err("read-only");
        assert!(matches!(StoreError::from(err), StoreError::Unavailable(_)));
        // A wrong query stays a plain database error.
        let err = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(&mut rw)
            .await
            .expect_err("no table");
        assert!(matches!(StoreError::from(err), StoreError::Db(_)));
    }
}
