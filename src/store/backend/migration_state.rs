//! Which of this build's migrations a database has applied, read without changing
//! anything (`fanops doctor`): a SQLite file that does not exist is not created.

use super::{reach_postgres, EmbeddedMigration, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use crate::store::{StoreError, StoreResult};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::Connection;
use std::str::FromStr;

/// The migrations of a database against the ones this build embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The SQLite file does not exist yet (it is created at the first start).
    pub missing: bool,
    /// Versions applied successfully that this build knows.
    pub applied: Vec<i64>,
    /// Versions of this build not applied yet.
    pub pending: Vec<i64>,
    /// Versions recorded as failed (a migration that stopped half way).
    pub failed: Vec<i64>,
    /// Versions applied that this build does not know (a newer fanops ran on it).
    pub unknown: Vec<i64>,
}

/// Reads the migration table of the database at `url`.
pub async fn migration_state(url: &str) -> StoreResult<MigrationState> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(false)
            .read_only(true);
        let file = options.get_filename();
        if !super::is_in_memory(url) && !file.exists() {
            return Ok(state("sqlite", SQLITE_MIGRATIONS, true, Vec::new()));
        }
        let mut connection = SqliteConnection::connect_with(&options).await?;
        let (exists,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&mut connection)
        .await?;
        let recorded = match exists {
            0 => Vec::new(),
            _ => {
                sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
                    .fetch_all(&mut connection)
                    .await?
            }
        };
        let _ = connection.close().await;
        Ok(state("sqlite", SQLITE_MIGRATIONS, false, recorded))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = PgConnectOptions::from_str(url)?;
        reach_postgres(&options).await?;
        let mut connection = PgConnection::connect_with(&options).await?;
        let (exists,): (bool,) =
            sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut connection)
                .await?;
        let recorded = match exists {
            false => Vec::new(),
            true => {
                sqlx::query_as("SELECT version, success FROM _sqlx_migrations")
                    .fetch_all(&mut connection)
                    .await?
            }
        };
        let _ = connection.close().await;
        Ok(state("postgres", POSTGRES_MIGRATIONS, false, recorded))
    } else {
        Err(StoreError::UnsupportedUrl(super::redact(url)))
    }
}

fn state(
    backend: &'static str,
    embedded: &[EmbeddedMigration],
    missing: bool,
    recorded: Vec<(i64, bool)>,
) -> MigrationState {
    let known = |v: i64| embedded.iter().any(|(version, _, _)| *version == v);
    let done = |v: i64| recorded.iter().any(|&(r, ok)| r == v && ok);
    MigrationState {
        backend,
        missing,
        applied: embedded.iter().map(|m| m.0).filter(|&v| done(v)).collect(),
        pending: embedded
            .iter()
            .map(|m| m.0)
            .filter(|&v| !recorded.iter().any(|&(r, _)| r == v))
            .collect(),
        failed: recorded.iter().filter(|r| !r.1).map(|r| r.0).collect(),
        unknown: recorded
            .iter()
            .filter(|r| r.1 && !known(r.0))
            .map(|r| r.0)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_file_is_not_created_and_a_migrated_one_has_nothing_pending() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("f.db").display());
        let fresh = migration_state(&url).await.unwrap();
        assert!(fresh.missing && fresh.applied.is_empty());
        assert_eq!(fresh.pending.len(), SQLITE_MIGRATIONS.len());
        assert!(!dir.path().join("f.db").exists(), "not created");
        let store = crate::store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let done = migration_state(&url).await.unwrap();
        assert!(!done.missing && done.pending.is_empty() && done.failed.is_empty());
        assert_eq!(done.applied.len(), SQLITE_MIGRATIONS.len());
    }
}
