//! Forward-only migrations, one folder per engine with identical file names, embedded in the
//! binary. A database that has a migration this binary does not know is refused (it was
//! written by a newer tessera).

use crate::{Backend, Result, Store};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// (version, description, SQLite SQL, PostgreSQL SQL)
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "web",
        include_str!("../migrations/sqlite/0002_web.sql"),
        include_str!("../migrations/postgres/0002_web.sql"),
    ),
    (
        3,
        "messaging",
        include_str!("../migrations/sqlite/0003_messaging.sql"),
        include_str!("../migrations/postgres/0003_messaging.sql"),
    ),
    (
        4,
        "devices",
        include_str!("../migrations/sqlite/0004_devices.sql"),
        include_str!("../migrations/postgres/0004_devices.sql"),
    ),
    (
        5,
        "event_fanout",
        include_str!("../migrations/sqlite/0005_event_fanout.sql"),
        include_str!("../migrations/postgres/0005_event_fanout.sql"),
    ),
    (
        6,
        "rate_limits",
        include_str!("../migrations/sqlite/0006_rate_limits.sql"),
        include_str!("../migrations/postgres/0006_rate_limits.sql"),
    ),
    (
        7,
        "settings_groups",
        include_str!("../migrations/sqlite/0007_settings_groups.sql"),
        include_str!("../migrations/postgres/0007_settings_groups.sql"),
    ),
    (
        8,
        "client_state",
        include_str!("../migrations/sqlite/0008_client_state.sql"),
        include_str!("../migrations/postgres/0008_client_state.sql"),
    ),
    (
        9,
        "named_keys",
        include_str!("../migrations/sqlite/0009_named_keys.sql"),
        include_str!("../migrations/postgres/0009_named_keys.sql"),
    ),
    (
        10,
        "key_kinds",
        include_str!("../migrations/sqlite/0010_key_kinds.sql"),
        include_str!("../migrations/postgres/0010_key_kinds.sql"),
    ),
    (
        11,
        "key_makers",
        include_str!("../migrations/sqlite/0011_key_makers.sql"),
        include_str!("../migrations/postgres/0011_key_makers.sql"),
    ),
];

/// The file names of each engine's migrations, for the test that keeps the folders in step.
#[cfg(test)]
pub const MIGRATION_FILES: &[&str] = &[
    "0001_init.sql",
    "0002_web.sql",
    "0003_messaging.sql",
    "0004_devices.sql",
    "0005_event_fanout.sql",
    "0006_rate_limits.sql",
    "0007_settings_groups.sql",
    "0008_client_state.sql",
    "0009_named_keys.sql",
    "0010_key_kinds.sql",
    "0011_key_makers.sql",
];

fn migrator(postgres: bool) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, desc, sqlite, pg)| {
            let sql = if postgres { *pg } else { *sqlite };
            Migration::new(
                *version,
                Cow::Borrowed(*desc),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    }
}

impl Store {
    /// Apply any pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(pools) => migrator(false).run(&pools.write).await?,
            Backend::Postgres(pool) => migrator(true).run(pool).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_have_the_same_migration_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let list = |engine: &str| {
            let mut names: Vec<String> = std::fs::read_dir(dir.join(engine))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            names
        };
        assert_eq!(list("sqlite"), list("postgres"));
        assert_eq!(list("sqlite"), MIGRATION_FILES.to_vec());
        assert_eq!(MIGRATIONS.len(), MIGRATION_FILES.len());
    }
}
