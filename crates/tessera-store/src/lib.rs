//! tessera's store: the only crate that speaks SQL.
//!
//! One [`Store`] hides which engine is in use. Every query is written once, in SQL both SQLite
//! and PostgreSQL accept (`$N` placeholders, `RETURNING`, `ON CONFLICT`), and [`with_pool!`]
//! stamps the same body out for each engine's pool, so the two cannot drift apart. Each public
//! method is one unit of work: if it writes several rows it does so in one transaction.
//! Timestamps are `i64` microseconds since the Unix epoch.

mod api_keys;
mod attachments;
mod audit_log;
mod devices;
mod drafts;
mod error;
mod event_fanout;
mod invalidations;
mod messages;
mod meta;
mod migrate;
mod people;
mod push_devices;
mod rate_limits;
mod realms;
mod sessions;
mod settings;
mod streams;
pub mod testing;
mod user_groups;
mod user_status;
mod user_topics;
mod users;

pub use api_keys::{ApiKeyRow, ExpiringKey, NewApiKey};
pub use attachments::{AttachmentRow, NewAttachment};
pub use audit_log::{AuditEvent, AuditRow};
pub use devices::ApiClientRow;
pub use drafts::{DraftRow, NewDraft};
pub use error::StoreError;
pub use event_fanout::EVENTS_CHANNEL;
pub use invalidations::{NOTIFY_CHANNEL, parse_payload};
pub use messages::{
    FLAG_COLLAPSED, FLAG_MENTIONED, FLAG_READ, FLAG_STARRED, FLAG_WILDCARD_MENTIONED, MessageEdit,
    MessageEditRow, MessageFilter, MessageQuery, MessageRow, NewMessage, RECIPIENT_GROUP,
    RECIPIENT_PERSONAL, RECIPIENT_STREAM, ReactionRow,
};
pub use people::PersonRow;
pub use push_devices::{PushDeviceRow, PushKind};
pub use realms::RealmRow;
pub use sessions::{SessionOrigin, SessionRow};
pub use settings::SettingChange;
pub use streams::{
    NewStream, PropertyValue, StreamChange, StreamRow, SubscriptionProperty, SubscriptionRow,
    SubscriptionSettings,
};
pub use user_groups::UserGroupRow;
pub use user_status::{StatusChange, UserStatusRow};
pub use user_topics::UserTopicRow;
pub use users::{AuthRow, NewService, NewUser, ServiceRow, UserRow};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// How long a request waits for a database connection before it is answered with a 503:
/// the bound on a hang while PostgreSQL is away.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only SQLite connections beside the one writer.
const SQLITE_READERS: u32 = 8;

/// Result alias for store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite takes one writer at a time, and a writer that finds the file locked sleeps and
/// retries (the busy handler backs off up to 100 ms a try), which under steady load turns
/// into tail latency that grows with the database. So writes queue here, in order, for the
/// one writing connection, and reads run beside them on read-only connections (WAL lets a
/// reader see the last commit while a write is under way). Other processes (the CLI) still
/// meet the busy timeout.
#[derive(Clone)]
pub(crate) struct SqlitePools {
    pub(crate) read: SqlitePool,
    pub(crate) write: SqlitePool,
}

/// A connection pool on one of the two engines.
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
    /// The SQLite database file (`None` on PostgreSQL or for an in-memory database).
    sqlite_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({:?})", self.engine())
    }
}

/// Run the same body against whichever pool the store holds, with `$pool` bound to it: on
/// SQLite the `read` or the `write` side of [`SqlitePools`]. The body is compiled once per
/// engine, so a query that does not type-check against both fails the build.
macro_rules! on_pool {
    ($side:ident, $store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite(pools) => {
                let $pool = &pools.$side;
                $body
            }
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// [`on_pool!`] for reading: on SQLite a read-only connection, so a write misfiled here fails
/// in every test that reaches it.
macro_rules! with_pool {
    ($($body:tt)*) => {
        $crate::on_pool!(read, $($body)*)
    };
}
pub(crate) use with_pool;

/// [`on_pool!`] for a body that writes: on SQLite it waits its turn for the one writing
/// connection.
macro_rules! with_writer {
    ($($body:tt)*) => {
        $crate::on_pool!(write, $($body)*)
    };
}
pub(crate) use with_writer;

impl Store {
    /// Open a store from a URL: `sqlite://PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(StoreError::Db)?;
            Self::connect_postgres(opts).await
        } else if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url).map_err(StoreError::Db)?;
            Self::connect_sqlite(opts).await
        } else {
            Err(StoreError::BadUrl(
                "the database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    /// Open (creating if needed) the SQLite file at `path`.
    pub async fn connect_sqlite_file(path: &std::path::Path) -> Result<Store> {
        Self::connect_sqlite(SqliteConnectOptions::new().filename(path)).await
    }

    async fn connect_sqlite(opts: SqliteConnectOptions) -> Result<Store> {
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Statement journals and sorting trees in memory, not in files under /var/tmp (a
            // send's multi-row INSERT needs a statement journal: a file each time otherwise).
            .pragma("temp_store", "memory")
            .busy_timeout(Duration::from_secs(10));
        let file = opts.get_filename();
        let sqlite_file = (!file.as_os_str().is_empty()
            && file != std::path::Path::new(":memory:"))
        .then(|| file.to_path_buf());
        let pool = |connections: u32| {
            SqlitePoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
        };
        // The writer first: it creates the file and turns on WAL. A COMMIT that fails (disk
        // full, I/O error) leaves SQLite's transaction open, and the connection must not go
        // back to work inside it: later writes would answer success and never be committed.
        // So it rolls back whatever is open before each use ("no transaction is active" is
        // the usual, ignored, answer). Readers never open a transaction and skip that.
        let write = pool(1)
            .before_acquire(|conn, _meta| {
                Box::pin(async move {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                    Ok(true)
                })
            })
            .connect_with(opts.clone())
            .await?;
        let read = match &sqlite_file {
            Some(_) => {
                pool(SQLITE_READERS)
                    .connect_with(opts.read_only(true).create_if_missing(false))
                    .await?
            }
            // Each connection to `:memory:` is a database of its own: one pool for both.
            None => write.clone(),
        };
        Ok(Store {
            backend: Backend::Sqlite(SqlitePools { read, write }),
            sqlite_file,
        })
    }

    pub(crate) async fn connect_postgres(opts: PgConnectOptions) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            // The bound on how long a request waits for the database while it is away (then
            // a 503 with `Retry-After`).
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await?;
        Ok(Store {
            backend: Backend::Postgres(pool),
            sqlite_file: None,
        })
    }

    /// The engine in use.
    pub fn engine(&self) -> Engine {
        match self.backend {
            Backend::Sqlite(_) => Engine::Sqlite,
            Backend::Postgres(_) => Engine::Postgres,
        }
    }

    /// A PostgreSQL connection `LISTEN`ing on `channel` (key invalidations, event notices);
    /// `Ok(None)` on SQLite, where other processes' writes are seen by polling.
    pub async fn listen(&self, channel: &str) -> Result<Option<sqlx::postgres::PgListener>> {
        let Backend::Postgres(pool) = &self.backend else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok(Some(listener))
    }

    /// The SQLite write-ahead log file (`<database>-wal`): it changes whenever any process
    /// commits, so a cheap `stat` tells whether another process may have written.
    pub fn sqlite_wal_file(&self) -> Option<std::path::PathBuf> {
        self.sqlite_file.as_ref().map(|f| {
            let mut name = f.as_os_str().to_owned();
            name.push("-wal");
            std::path::PathBuf::from(name)
        })
    }

    /// A trivial round trip, for health checks.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => { sqlx::query("SELECT 1").execute(pool).await?; });
        Ok(())
    }

    /// Close the pools (waits for connections to be returned).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(pools) => {
                pools.write.close().await;
                pools.read.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Reads run on read-only SQLite connections, so a write filed as a read fails in every
    /// test that reaches it instead of quietly competing for the lock.
    #[tokio::test]
    async fn sqlite_reading_connections_refuse_writes() {
        let (store, _guard) = crate::testing::fresh_store(Engine::Sqlite).await.unwrap();
        let misfiled: std::result::Result<(), sqlx::Error> = with_pool!(store, pool => {
            sqlx::query("INSERT INTO server_meta (key, value) VALUES ('x', 'y')")
                .execute(pool)
                .await
                .map(drop)
        });
        let message = misfiled
            .expect_err("a write on a reading connection")
            .to_string();
        assert!(message.contains("readonly"), "{message}");
        with_writer!(store, pool => {
            sqlx::query("INSERT INTO server_meta (key, value) VALUES ('x', 'y')")
                .execute(pool)
                .await
                .map(drop)
                .unwrap()
        });
        assert_eq!(store.meta_get("x").await.unwrap().as_deref(), Some("y"));
    }

    /// SQLite's statement journals and sorting trees stay in memory: with them in files, each
    /// send (one multi-row `user_messages` INSERT in a transaction) created, wrote about 240 KiB
    /// into and deleted a file under /var/tmp — half of all the bytes a send wrote.
    #[tokio::test]
    async fn sqlite_temporary_files_stay_in_memory() {
        let (store, _guard) = crate::testing::fresh_store(Engine::Sqlite).await.unwrap();
        let reading: i64 = with_pool!(store, pool => {
            sqlx::query_scalar("PRAGMA temp_store").fetch_one(pool).await.unwrap()
        });
        let writing: i64 = with_writer!(store, pool => {
            sqlx::query_scalar("PRAGMA temp_store").fetch_one(pool).await.unwrap()
        });
        assert_eq!((reading, writing), (2, 2), "2 is MEMORY");
    }
}
