//! Store conformance: the same checks on every backend. They always run on SQLite
//! (a database file and `sqlite::memory:`) and on PostgreSQL when
//! `FANOPS_TEST_POSTGRES_URL` names a server (each test gets its own database). Under CI
//! (`CI=true`) the variable must be set, and a server it names that does not answer fails
//! the PostgreSQL tests instead of skipping them.
//! The checks live in `store/{conversations,actions,ledger}.rs`; this file holds the
//! harness and the few tests that only make sense on one backend.

use std::future::Future;

use chrono::{DateTime, TimeZone, Utc};
use fanops::store::{self, SharedStore, StoreError};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use actions::pending;
use conversations::user;

mod actions;
mod budgets;
mod conversations;
mod events;
mod inbound;
mod ledger;
mod runs;
mod sessions;
mod skills;
mod tasks;
mod threads;

const POSTGRES_ENV: &str = "FANOPS_TEST_POSTGRES_URL";

/// How long the harness waits for the PostgreSQL server to accept a connection.
const POSTGRES_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

// ----- Harness ---------------------------------------------------------------------

async fn on_sqlite_file<F, Fut>(check: F)
where
    F: FnOnce(SharedStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let store = store::connect(&url).await.expect("connect to SQLite");
    store.migrate().await.expect("migrate SQLite");
    check(store).await;
}

async fn on_sqlite_memory<F, Fut>(check: F)
where
    F: FnOnce(SharedStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = store::connect("sqlite::memory:")
        .await
        .expect("connect to in-memory SQLite");
    store.migrate().await.expect("migrate in-memory SQLite");
    check(store).await;
}

async fn on_postgres<F, Fut>(check: F)
where
    F: FnOnce(SharedStore) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    in_fresh_postgres("the store checks", |url| async move {
        // Small pools: many of these tests run at once against one server.
        let store = store::connect_with(&url, 5)
            .await
            .expect("connect to PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        check(store).await;
    })
    .await;
}

/// Where the PostgreSQL tests run.
#[derive(Debug, PartialEq)]
enum PostgresTarget {
    /// The server `FANOPS_TEST_POSTGRES_URL` names (a URL of its admin database).
    Server(String),
    /// No server named, and none required: the PostgreSQL tests are skipped.
    Skipped,
}

/// Decides from `FANOPS_TEST_POSTGRES_URL` and `CI` where the PostgreSQL tests run. Under
/// CI (`CI=true`) a server is required, so that a missing variable fails the run instead
/// of quietly testing SQLite alone.
fn postgres_target(url: Option<String>, ci: Option<String>) -> Result<PostgresTarget, String> {
    let under_ci = ci.is_some_and(|ci| ci.eq_ignore_ascii_case("true") || ci == "1");
    match url.filter(|url| !url.trim().is_empty()) {
        Some(url) => Ok(PostgresTarget::Server(url)),
        None if under_ci => Err(format!(
            "CI=true but {POSTGRES_ENV} is not set: CI runs the store tests on PostgreSQL \
             too (.ci/run sets it to postgres://postgres@127.0.0.1:5432/test)"
        )),
        None => Ok(PostgresTarget::Skipped),
    }
}

/// A connection to the server's admin database, or why there is none, naming the server
/// (without its password) and the cause.
async fn admin_connection(admin_url: &str) -> Result<PgConnection, String> {
    let fails = |cause: String| {
        format!(
            "{POSTGRES_ENV} names {}, which does not answer: {cause}. Start the server, or \
             outside CI unset {POSTGRES_ENV} to skip the PostgreSQL tests",
            fanops::app::redact_url(admin_url)
        )
    };
    match tokio::time::timeout(POSTGRES_CONNECT_TIMEOUT, PgConnection::connect(admin_url)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(e)) => Err(fails(e.to_string())),
        Err(_) => Err(fails(format!(
            "no connection within {} s",
            POSTGRES_CONNECT_TIMEOUT.as_secs()
        ))),
    }
}

/// Runs `test` with the URL of a new, empty database on the server `FANOPS_TEST_POSTGRES_URL`
/// names, and drops the database however the test ends. Without the variable, says that
/// `what` was skipped (or, under CI, fails); with it, fails if the server does not answer.
pub(crate) async fn in_fresh_postgres<F, Fut>(what: &str, test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let target = postgres_target(std::env::var(POSTGRES_ENV).ok(), std::env::var("CI").ok())
        .unwrap_or_else(|why| panic!("{why}"));
    let PostgresTarget::Server(admin_url) = target else {
        println!("skipped: set {POSTGRES_ENV} to run {what} on PostgreSQL");
        return;
    };
    let name = format!("fanops_t_{}", uuid::Uuid::new_v4().simple());
    admin_statement(&admin_url, &format!("CREATE DATABASE {name}")).await;
    let mut url = url::Url::parse(&admin_url).expect("FANOPS_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    // Spawned so a failing test still lets the database be dropped below.
    let outcome = tokio::spawn(test(url.to_string())).await;
    admin_statement(
        &admin_url,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

pub(crate) async fn admin_statement(admin_url: &str, sql: &str) {
    let mut admin = admin_connection(admin_url)
        .await
        .unwrap_or_else(|why| panic!("{why}"));
    sqlx::query(AssertSqlSafe(sql.to_string()))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("`{sql}` failed: {e}"));
    let _ = admin.close().await;
}

/// Runs each `module::check` on every backend, as the tests `store::sqlite::<check>`,
/// `store::sqlite_memory::<check>` and `store::postgres::<check>`.
macro_rules! conformance {
    ($($module:ident::$check:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                super::on_sqlite_file(super::$module::$check).await;
            })+
        }

        mod sqlite_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                super::on_sqlite_memory(super::$module::$check).await;
            })+
        }

        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                super::on_postgres(super::$module::$check).await;
            })+
        }
    };
}

conformance!(
    conversations::history_keeps_order_and_limit,
    conversations::replace_tool_result_edits_one_message,
    conversations::clear_history_removes_one_conversation,
    conversations::history_within_a_budget_keeps_what_fit_keeps,
    actions::pending_actions_round_trip,
    actions::open_action_is_newest_pending_unexpired,
    actions::decide_confirm_then_second_decision_is_unchanged,
    actions::decide_cancel_then_confirm_is_unchanged,
    actions::decide_after_expiry_is_unchanged,
    actions::decide_unknown_action_is_not_found,
    actions::concurrent_decides_have_one_winner,
    actions::finish_action_records_end_of_confirmed_only,
    actions::expired_actions_are_moved_once,
    inbound::an_event_is_claimed_once_and_taken_over_when_its_lease_lapses,
    inbound::a_stopping_owner_releases_its_unanswered_events_oldest_first,
    ledger::usage_report_groups_by_every_dimension,
    ledger::usage_report_groups_by_connection,
    ledger::usage_report_since_filters,
    ledger::estimated_calls_are_kept_and_counted,
    ledger::audit_log_newest_first,
    schema::migrate_twice_is_a_no_op,
    schema::channel_state_round_trips,
    schema::concurrent_claims_have_one_winner,
    schema::old_claims_of_a_scope_are_pruned,
    runs::a_fire_is_claimed_exactly_once,
    runs::runs_are_recorded_and_listed_newest_first,
    runs::crashed_runs_are_marked_failed,
    tasks::tasks_are_inserted_once_updated_and_deleted,
    tasks::scheduler_facts_are_read_and_written_in_bulk,
    threads::a_followed_thread_stays_followed_and_is_per_chat,
    threads::a_thread_is_found_by_its_id_alone,
    threads::a_refused_user_is_told_once_per_quiet_period,
    events::an_event_is_stored_once_while_its_key_holds,
    events::each_rule_claims_an_event_once_and_digests_close,
    skills::skills_install_once_and_remove_once,
    skills::skills_are_seeded_at_the_first_start_only,
    budgets::budgets_are_set_replaced_and_spend_is_summed,
    budgets::operations_reads_cover_every_conversation_and_task,
    budgets::runs_spend_the_teams_budget_and_are_no_user,
    sessions::a_session_is_found_until_it_expires_or_ends,
);

/// A fixed instant in March 2026, so expiry and day boundaries are exact.
fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
}

mod schema {
    use super::user;
    use fanops::store::SharedStore;

    pub(super) async fn migrate_twice_is_a_no_op(store: SharedStore) {
        assert!(["sqlite", "postgres"].contains(&store.backend()));
        store.append_messages("c1", &[user("kept")]).await.unwrap();
        store.migrate().await.expect("second migrate");
        store.migrate().await.expect("third migrate");
        assert_eq!(store.history("c1", 10).await.unwrap(), vec![user("kept")]);
        store.ping().await.expect("ping");
    }

    pub(super) async fn channel_state_round_trips(store: SharedStore) {
        assert_eq!(store.state("telegram.offset").await.unwrap(), None);
        store.set_state("telegram.offset", "41").await.unwrap();
        store.set_state("telegram.offset", "42").await.unwrap();
        assert_eq!(
            store.state("telegram.offset").await.unwrap().as_deref(),
            Some("42")
        );
        assert_eq!(store.state("other").await.unwrap(), None);
    }

    pub(super) async fn old_claims_of_a_scope_are_pruned(store: SharedStore) {
        let now = chrono::Utc::now();
        assert!(store.claim("telegram.update", "1").await.unwrap());
        assert!(store.claim("introduced", "telegram:1:").await.unwrap());
        let an_hour_ago = now - chrono::Duration::hours(1);
        assert_eq!(
            store
                .prune_claims("telegram.update", an_hour_ago)
                .await
                .unwrap(),
            0,
            "recent claims stay"
        );
        assert!(!store.claim("telegram.update", "1").await.unwrap());
        let later = now + chrono::Duration::minutes(1);
        assert_eq!(
            store.prune_claims("telegram.update", later).await.unwrap(),
            1
        );
        assert!(
            store.claim("telegram.update", "1").await.unwrap(),
            "a pruned claim is forgotten"
        );
        assert!(
            !store.claim("introduced", "telegram:1:").await.unwrap(),
            "other scopes are untouched"
        );
    }

    pub(super) async fn concurrent_claims_have_one_winner(store: SharedStore) {
        let claims = (0..20).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim("telegram.update", "1001").await.unwrap() })
        });
        let won = futures::future::join_all(claims)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(won, 1);
        assert!(store.claim("telegram.update", "1002").await.unwrap());
        assert!(store.claim("other.scope", "1001").await.unwrap());
    }
}

// ----- Backend-specific ------------------------------------------------------------

#[tokio::test]
async fn unsupported_urls_are_rejected() {
    for url in [
        "mysql://root:hunter2@db/fanops",
        "fanops.db",
        "",
        "postgres:/x",
    ] {
        match store::connect(url).await {
            Err(StoreError::UnsupportedUrl(shown)) => {
                assert!(
                    !shown.contains("hunter2"),
                    "the password is hidden: {shown}"
                );
            }
            Err(other) => panic!("{url}: expected UnsupportedUrl, got {other}"),
            Ok(_) => panic!("{url}: expected UnsupportedUrl, got a store"),
        }
    }
}

#[tokio::test]
async fn sqlite_file_is_created_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", path.display());
    let store = store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
        .append_messages("c1", &[user("persisted")])
        .await
        .unwrap();
    drop(store);

    assert!(path.exists());
    let reopened = store::connect(&url).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(
        reopened.history("c1", 1).await.unwrap(),
        vec![user("persisted")]
    );
}

#[tokio::test]
async fn corrupt_rows_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let store = store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    store
        .insert_action(&pending("a1", "c1", at(1, 12, 0)))
        .await
        .unwrap();
    store
        .insert_action(&pending("a2", "c1", at(1, 12, 0)))
        .await
        .unwrap();
    store.append_messages("c1", &[user("hello")]).await.unwrap();

    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "UPDATE pending_actions SET status = 'maybe' WHERE id = 'a1'",
        "UPDATE pending_actions SET arguments = '{not json' WHERE id = 'a2'",
        "UPDATE conversation_messages SET body = '[]'",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }
    raw.close().await.unwrap();

    for (id, needle) in [("a1", "maybe"), ("a2", "arguments")] {
        match store.action(id).await {
            Err(StoreError::Corrupt(why)) => assert!(why.contains(needle), "{why}"),
            other => panic!("{id}: expected Corrupt, got {other:?}"),
        }
    }
    let history = store.history("c1", 10).await;
    assert!(
        matches!(history, Err(StoreError::Corrupt(_))),
        "{history:?}"
    );
}

// ----- The harness itself ----------------------------------------------------------

#[test]
fn postgres_is_required_under_ci_and_optional_elsewhere() {
    let url = || Some("postgres://postgres@127.0.0.1:5432/test".to_string());
    let server = || Ok(PostgresTarget::Server(url().unwrap()));
    let ci = |value: &str| Some(value.to_string());
    assert_eq!(postgres_target(url(), None), server());
    assert_eq!(postgres_target(url(), ci("true")), server());
    assert_eq!(postgres_target(None, None), Ok(PostgresTarget::Skipped));
    assert_eq!(
        postgres_target(None, ci("false")),
        Ok(PostgresTarget::Skipped)
    );
    assert_eq!(postgres_target(None, ci("")), Ok(PostgresTarget::Skipped));
    for (unset, ci) in [
        (None, ci("true")),
        (Some(" ".into()), ci("TRUE")),
        (None, ci("1")),
    ] {
        let why = postgres_target(unset.clone(), ci.clone()).unwrap_err();
        assert!(why.contains(POSTGRES_ENV), "{unset:?} {ci:?}: {why}");
        assert!(why.contains("CI=true"), "{why}");
    }
}

#[tokio::test]
async fn a_postgres_server_that_does_not_answer_is_named_with_the_cause() {
    // A listener that hangs up on every connection: nothing PostgreSQL answers there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hang_up = tokio::spawn(async move {
        while let Ok((connection, _)) = listener.accept().await {
            drop(connection);
        }
    });
    let url = format!("postgres://fanops:hunter2@{address}/test");
    let why = admin_connection(&url).await.expect_err("no connection");
    hang_up.abort();
    assert!(why.contains(&format!("@{address}/test")), "{why}");
    assert!(!why.contains("hunter2"), "the password is hidden: {why}");
    let cause = why
        .split("does not answer: ")
        .nth(1)
        .and_then(|rest| rest.split(". Start the server").next())
        .unwrap_or_default();
    assert!(!cause.trim().is_empty(), "the cause is given: {why}");
}
