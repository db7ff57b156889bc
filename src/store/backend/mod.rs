//! The two concrete backends behind [`Store`]: a SQLite pool and a PostgreSQL pool.
//!
//! Only connecting and migrating differ between them; every query is written once, in
//! one file per table family (`portable.rs`, `tasks.rs`, `ledger.rs`, `events.rs`, …),
//! and expanded for both pool types.

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Connection;
use sqlx::SqlSafeStr;

use super::{SharedStore, StoreError, StoreResult};

mod budgets;
mod events;
mod inbound;
mod leases;
mod ledger;
mod location;
mod migration_state;
mod portable;
mod retries;
mod rows;
mod sessions;
mod skills;
mod tasks;
mod team;
mod threads;

pub use location::location;
pub use migration_state::{migration_state, MigrationState};

/// Pool size used by [`connect`].
const DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long `connect` waits for PostgreSQL to answer before naming it unreachable.
const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

/// How long a SQLite writer waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A migration as embedded in the binary: version, description, SQL.
type EmbeddedMigration = (i64, &'static str, &'static str);

// Listed by hand because sqlx is built without its `macros` feature, which
// `sqlx::migrate!` needs. Versions and descriptions follow the file names, so the
// recorded checksums are the ones `sqlx::migrate!` or `sqlx migrate run` would write.
// The `embeds_every_migration_file` test fails when a file is added but not listed here.
const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "channel state",
        include_str!("../../../migrations/sqlite/0002_channel_state.sql"),
    ),
    (
        3,
        "task runs",
        include_str!("../../../migrations/sqlite/0003_task_runs.sql"),
    ),
    (
        4,
        "scheduled tasks",
        include_str!("../../../migrations/sqlite/0004_scheduled_tasks.sql"),
    ),
    (
        5,
        "usage estimates",
        include_str!("../../../migrations/sqlite/0005_usage_estimates.sql"),
    ),
    (
        6,
        "inbound claims",
        include_str!("../../../migrations/sqlite/0006_inbound_claims.sql"),
    ),
    (
        7,
        "leases",
        include_str!("../../../migrations/sqlite/0007_leases.sql"),
    ),
    (
        8,
        "delivery retries",
        include_str!("../../../migrations/sqlite/0008_delivery_retries.sql"),
    ),
    (
        9,
        "threads and refusals",
        include_str!("../../../migrations/sqlite/0009_threads_and_refusals.sql"),
    ),
    (
        10,
        "threads by id",
        include_str!("../../../migrations/sqlite/0010_threads_by_id.sql"),
    ),
    (
        11,
        "events",
        include_str!("../../../migrations/sqlite/0011_events.sql"),
    ),
    (
        12,
        "skills",
        include_str!("../../../migrations/sqlite/0012_skills.sql"),
    ),
    (
        13,
        "budgets",
        include_str!("../../../migrations/sqlite/0013_budgets.sql"),
    ),
    (
        14,
        "dashboard sessions",
        include_str!("../../../migrations/sqlite/0014_dashboard_sessions.sql"),
    ),
    (
        15,
        "delivery state",
        include_str!("../../../migrations/sqlite/0015_delivery_state.sql"),
    ),
    (
        16,
        "prepared requests",
        include_str!("../../../migrations/sqlite/0016_prepared_requests.sql"),
    ),
    (
        17,
        "team",
        include_str!("../../../migrations/sqlite/0017_team.sql"),
    ),
    (
        18,
        "connections",
        include_str!("../../../migrations/sqlite/0018_connections.sql"),
    ),
];
const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "channel state",
        include_str!("../../../migrations/postgres/0002_channel_state.sql"),
    ),
    (
        3,
        "task runs",
        include_str!("../../../migrations/postgres/0003_task_runs.sql"),
    ),
    (
        4,
        "scheduled tasks",
        include_str!("../../../migrations/postgres/0004_scheduled_tasks.sql"),
    ),
    (
        5,
        "usage estimates",
        include_str!("../../../migrations/postgres/0005_usage_estimates.sql"),
    ),
    (
        6,
        "inbound claims",
        include_str!("../../../migrations/postgres/0006_inbound_claims.sql"),
    ),
    (
        7,
        "leases",
        include_str!("../../../migrations/postgres/0007_leases.sql"),
    ),
    (
        8,
        "delivery retries",
        include_str!("../../../migrations/postgres/0008_delivery_retries.sql"),
    ),
    (
        9,
        "threads and refusals",
        include_str!("../../../migrations/postgres/0009_threads_and_refusals.sql"),
    ),
    (
        10,
        "threads by id",
        include_str!("../../../migrations/postgres/0010_threads_by_id.sql"),
    ),
    (
        11,
        "events",
        include_str!("../../../migrations/postgres/0011_events.sql"),
    ),
    (
        12,
        "skills",
        include_str!("../../../migrations/postgres/0012_skills.sql"),
    ),
    (
        13,
        "budgets",
        include_str!("../../../migrations/postgres/0013_budgets.sql"),
    ),
    (
        14,
        "dashboard sessions",
        include_str!("../../../migrations/postgres/0014_dashboard_sessions.sql"),
    ),
    (
        15,
        "delivery state",
        include_str!("../../../migrations/postgres/0015_delivery_state.sql"),
    ),
    (
        16,
        "prepared requests",
        include_str!("../../../migrations/postgres/0016_prepared_requests.sql"),
    ),
    (
        17,
        "team",
        include_str!("../../../migrations/postgres/0017_team.sql"),
    ),
    (
        18,
        "connections",
        include_str!("../../../migrations/postgres/0018_connections.sql"),
    ),
];

/// The store on a SQLite database file (or in memory).
pub(super) struct SqliteStore {
    pool: SqlitePool,
}

/// The store on a PostgreSQL database.
pub(super) struct PgStore {
    pool: PgPool,
}

/// Opens the store named by `url` with the default pool size. Does not migrate.
pub async fn connect(url: &str) -> StoreResult<SharedStore> {
    connect_with(url, DEFAULT_MAX_CONNECTIONS).await
}

/// Opens the store named by `url` with at most `max_connections` connections
/// (in-memory SQLite always uses one). Does not migrate: call [`Store::migrate`].
///
/// [`Store::migrate`]: super::Store::migrate
pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<SharedStore> {
    let max_connections = max_connections.max(1);
    if url.starts_with("sqlite:") {
        let pool = sqlite_pool(url, max_connections).await?;
        Ok(Arc::new(SqliteStore { pool }))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = PgConnectOptions::from_str(url)?;
        reach_postgres(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options)
            .await?;
        Ok(Arc::new(PgStore { pool }))
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// Opens and closes one connection, so that a server that is down, refuses, or does not
/// answer is named with its cause at once. The pool alone would retry a refused connection
/// until its 30 s acquire timeout and then report only "pool timed out".
async fn reach_postgres(options: &PgConnectOptions) -> StoreResult<()> {
    let host = match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let unreachable = |cause: String| StoreError::Unreachable {
        host: host.clone(),
        cause,
    };
    match tokio::time::timeout(
        POSTGRES_CONNECT_TIMEOUT,
        PgConnection::connect_with(options),
    )
    .await
    {
        Err(_) => Err(unreachable(format!(
            "no answer within {} s",
            POSTGRES_CONNECT_TIMEOUT.as_secs()
        ))),
        Ok(Err(sqlx::Error::Io(e))) => Err(unreachable(io_cause(&e))),
        Ok(Err(sqlx::Error::Tls(e))) => Err(unreachable(format!("TLS failed: {e}"))),
        // Wrong password, unknown database and the like: the server answered, say what.
        Ok(Err(e)) => Err(e.into()),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
    }
}

/// "connection refused", "host unreachable", …; other errors (a name that does not
/// resolve) keep their own text.
fn io_cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        kind @ (ConnectionRefused | ConnectionReset | ConnectionAborted | HostUnreachable
        | NetworkUnreachable | NetworkDown | TimedOut | AddrNotAvailable
        | PermissionDenied | NotFound) => kind.to_string(),
        _ => e.to_string(),
    }
}

async fn sqlite_pool(url: &str, max_connections: u32) -> StoreResult<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    if is_in_memory(url) {
        // Every connection to `sqlite::memory:` would otherwise see its own empty
        // database, and the data vanishes when the last connection closes: keep
        // exactly one connection, forever.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        return Ok(pool);
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(max_connections)
        .connect_with(options.journal_mode(SqliteJournalMode::Wal))
        .await?;
    Ok(pool)
}

/// Whether a `sqlite:` URL names an in-memory database (`sqlite::memory:`,
/// `sqlite://:memory:` or `?mode=memory`).
fn is_in_memory(url: &str) -> bool {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory")
}

/// The URL without a password, for an error message that may reach a log.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // Only fails for URLs that cannot have a password, which this one has.
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

fn migrator(embedded: &[EmbeddedMigration]) -> Migrator {
    let migrations = embedded
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

fn sqlite_migrator() -> Migrator {
    migrator(SQLITE_MIGRATIONS)
}

fn postgres_migrator() -> Migrator {
    migrator(POSTGRES_MIGRATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .expect("migrations directory")
            .map(|entry| entry.expect("directory entry").file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        names.sort();
        names
    }

    fn names_of(embedded: &[EmbeddedMigration]) -> Vec<String> {
        embedded
            .iter()
            .map(|(version, description, _)| {
                format!("{version:04}_{}.sql", description.replace(' ', "_"))
            })
            .collect()
    }

    #[test]
    fn embeds_every_migration_file() {
        assert_eq!(names_of(SQLITE_MIGRATIONS), files_in("migrations/sqlite"));
        assert_eq!(
            names_of(POSTGRES_MIGRATIONS),
            files_in("migrations/postgres")
        );
    }

    #[test]
    fn embedded_sql_matches_its_file() {
        for (dir, embedded) in [
            ("migrations/sqlite", SQLITE_MIGRATIONS),
            ("migrations/postgres", POSTGRES_MIGRATIONS),
        ] {
            for (name, (_, _, sql)) in names_of(embedded).iter().zip(embedded) {
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(dir)
                    .join(name);
                let on_disk = std::fs::read_to_string(path).expect("migration file");
                assert_eq!(&on_disk, sql, "{dir}/{name}");
            }
        }
    }

    #[test]
    fn recognises_in_memory_urls() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://:memory:"));
        assert!(is_in_memory("sqlite://shared?mode=memory&cache=shared"));
        assert!(!is_in_memory("sqlite://fanops.db"));
        assert!(!is_in_memory("sqlite:///var/lib/fanops/memory.db"));
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("mysql://user:secret@db/fanops"),
            "mysql://user:****@db/fanops"
        );
        assert_eq!(redact("nonsense"), "nonsense");
    }
}
