//! Fresh stores for tests, on both engines.
//!
//! SQLite: a new file in a temporary directory. PostgreSQL: a new schema in a database created
//! once per test process (`tessera_test_<pid>_<random>`) on the server named by
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/test`). Tests never share
//! state.

use crate::{Engine, Result, Store, StoreError};
use rand::Rng;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use tokio::sync::OnceCell;

/// The PostgreSQL server used by tests.
pub fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

static TEST_DB: OnceCell<std::result::Result<String, String>> = OnceCell::const_new();

async fn test_database() -> Result<String> {
    TEST_DB
        .get_or_init(|| async {
            let base = test_database_url();
            let name = format!(
                "tessera_test_{}_{}",
                std::process::id(),
                rand::thread_rng().gen_range(0..1_000_000u32)
            );
            let mut conn = PgConnection::connect(&base)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())?;
            let opts = PgConnectOptions::from_str(&base).map_err(|e| e.to_string())?;
            Ok::<_, String>(name_to_url(&opts, &name))
        })
        .await
        .clone()
        .map_err(StoreError::BadUrl)
}

fn name_to_url(opts: &PgConnectOptions, name: &str) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        opts.get_username(),
        opts.get_host(),
        opts.get_port(),
        name
    )
}

/// A store for one test. Keep the returned guard alive as long as the store (it owns the
/// SQLite temp dir).
pub async fn fresh_store(engine: Engine) -> Result<(Store, TestGuard)> {
    match engine {
        Engine::Sqlite => {
            let dir = tempdir()?;
            let store = Store::connect_sqlite_file(&dir.path().join("tessera.db")).await?;
            store.migrate().await?;
            Ok((
                store,
                TestGuard {
                    _dir: Some(dir),
                    url: None,
                },
            ))
        }
        Engine::Postgres => {
            let url = test_database().await?;
            let schema = format!("t_{}", rand::thread_rng().gen_range(0..u64::MAX / 2));
            let mut conn = PgConnection::connect(&url).await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
            let opts =
                PgConnectOptions::from_str(&url)?.options([("search_path", schema.as_str())]);
            let store = Store::connect_postgres(opts).await?;
            store.migrate().await?;
            let full = format!("{url}?options=-c%20search_path%3D{schema}");
            Ok((
                store,
                TestGuard {
                    _dir: None,
                    url: Some(full),
                },
            ))
        }
    }
}

fn tempdir() -> Result<TempDir> {
    let base = std::env::temp_dir().join(format!(
        "tessera-test-{}-{}",
        std::process::id(),
        rand::thread_rng().gen_range(0..u64::MAX / 2)
    ));
    std::fs::create_dir_all(&base).map_err(|e| StoreError::BadUrl(e.to_string()))?;
    Ok(TempDir(base))
}

/// A temporary directory removed on drop.
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keeps a test store's resources alive.
pub struct TestGuard {
    _dir: Option<TempDir>,
    url: Option<String>,
}

impl TestGuard {
    /// A URL another process can use to open the same store (PostgreSQL only).
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The folder holding a SQLite test store's files.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(TempDir::path)
    }

    /// (database URL, schema) of a PostgreSQL test store.
    pub fn postgres_schema(&self) -> Option<(String, String)> {
        let url = self.url.as_deref()?;
        let (base, opts) = url.split_once("?options=-c%20search_path%3D")?;
        Some((base.to_owned(), opts.to_owned()))
    }
}
