//! The operations page (`GET /`, on when `[server] dashboard = true`): usage as a chart
//! and tables by model, platform, kind or user for a period, budgets and what is left,
//! scheduled tasks with their last and next run and delivery, recent alerts, recent
//! real-time events and what each alert rule did with them, writes waiting for
//! confirmation and the audit log. Server-rendered HTML, no JavaScript.
//!
//! Behind `FANOPS_DASHBOARD_TOKEN`: as a bearer token, or typed once into the login form,
//! which opens a session kept in the store and sets its HttpOnly cookie ([`auth`]).
//! Without the token the page is served only on a loopback listener; [`routes`] refuses
//! to build it for one beyond loopback.

mod auth;
mod login;
mod page;
mod words;

use crate::budget::Budgets;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::{EventFilter, RunStatus, SharedStore, UsageDimension};
use crate::tasks::TaskBook;
use crate::usage::{self, chart, Period};
use auth::Gate;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;

/// Rows of each list on the page.
const ACTIVITY_ROWS: usize = 15;
const AUDIT_ROWS: usize = 30;
const PENDING_ROWS: usize = 20;
/// Latest runs looked through for alerts.
const RUNS_LOOKED_AT: usize = 200;
const ALERT_ROWS: usize = 15;
/// Real-time events shown: the latest this many, received within [`EVENT_HOURS`].
const EVENT_ROWS: usize = 50;
const EVENT_HOURS: i64 = 24;

/// What the page reads.
#[derive(Clone)]
pub struct DashboardState {
    store: SharedStore,
    tasks: Arc<dyn TaskBook>,
    budgets: Arc<Budgets>,
    clock: Clock,
    gate: Gate,
}

/// The page's routes, or None when `[server] dashboard` is off. Fails when the token is
/// missing and the listener reaches beyond loopback.
pub fn routes(
    config: &Config,
    store: SharedStore,
    tasks: Arc<dyn TaskBook>,
    budgets: Arc<Budgets>,
    clock: Clock,
) -> anyhow::Result<Option<Router>> {
    if !config.server.dashboard {
        return Ok(None);
    }
    if let Some(why) = config.dashboard_unprotected() {
        if config.listens_beyond_loopback() {
            anyhow::bail!("refusing to start: {why}");
        }
        tracing::warn!("{why}");
    }
    let state = DashboardState {
        gate: Gate::new(
            config.secrets.dashboard_token.clone(),
            store.clone(),
            clock.clone(),
        ),
        store,
        tasks,
        budgets,
        clock,
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/usage.png", get(usage_png))
        .route("/usage.csv", get(usage_csv))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", axum::routing::post(login::sign_out))
        .with_state(state);
    Ok(Some(router))
}

/// Headers every answer carries: no caching, no framing, nothing but our own images.
fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

fn html(status: StatusCode, body: maud::Markup) -> Response {
    let mut response = (status, body.into_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    harden(response)
}

/// 401 with the login form, so a browser can sign in and a script sees the refusal.
fn unauthorized() -> Response {
    let mut response = html(StatusCode::UNAUTHORIZED, page::login(None));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"fanops\""),
    );
    response
}

/// `period` and `by` from the query, each checked; a bad one is named.
fn choices(query: &HashMap<String, String>) -> Result<(Period, String, UsageDimension), String> {
    let period_text = query
        .get("period")
        .map_or("30d", String::as_str)
        .to_string();
    let period = Period::parse(&period_text)?;
    let by = usage::parse_dimension(query.get("by").map_or("model", String::as_str))?;
    chart::check_dimension(by)?;
    Ok((period, period_text, by))
}

fn bad_request(why: String) -> Response {
    harden((StatusCode::BAD_REQUEST, why).into_response())
}

fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "the operations page could not be read");
    harden(
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "The operations page could not read the database; see the log.",
        )
            .into_response(),
    )
}

async fn page(
    State(state): State<DashboardState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let admitted = match state.gate.admits(&headers).await {
        Ok(Some(admitted)) => admitted,
        Ok(None) => return unauthorized(),
        Err(e) => return failed(e),
    };
    let (period, period_text, by) = match choices(&query) {
        Ok(c) => c,
        Err(why) => return bad_request(why),
    };
    match read(&state, period, period_text, by).await {
        Ok(mut data) => {
            data.logged_in = admitted == auth::Admitted::Session;
            html(StatusCode::OK, page::render(&data))
        }
        Err(e) => failed(e),
    }
}

async fn read(
    state: &DashboardState,
    period: Period,
    period_text: String,
    by: UsageDimension,
) -> Result<page::PageData, crate::store::StoreError> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let standing = state.budgets.standing(None).await?;
    let users = state.budgets.user_lines(&standing.month).await?;
    let runs = state.budgets.spend_of_runs(&standing.month).await?;
    let alerts = store
        .latest_runs(RUNS_LOOKED_AT)
        .await?
        .into_iter()
        .filter(|r| {
            matches!(
                r.status,
                RunStatus::Failed | RunStatus::Missed | RunStatus::SkippedBudget
            ) || r.undelivered()
        })
        .take(ALERT_ROWS)
        .collect();
    let events = crate::events::log::recent(
        store,
        &EventFilter {
            since: Some(now - chrono::Duration::hours(EVENT_HOURS)),
            kind: None,
            limit: EVENT_ROWS,
        },
    )
    .await?;
    Ok(page::PageData {
        period,
        period_text,
        by,
        tz: state.budgets.tz(),
        usage: usage::report(store, period, by).await?,
        activity: store
            .recent_usage(period.since(now), ACTIVITY_ROWS, true)
            .await?,
        tasks: crate::tasks::list(store, &state.tasks.workflows(), now).await?,
        alerts,
        events,
        pending: store.open_actions(now, PENDING_ROWS).await?,
        audit: store.recent_audit(AUDIT_ROWS).await?,
        standing,
        runs,
        users,
        logged_in: false,
    })
}

async fn usage_png(
    State(state): State<DashboardState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match state.gate.admits(&headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return harden(StatusCode::UNAUTHORIZED.into_response()),
        Err(e) => return failed(e),
    }
    let (period, _, by) = match choices(&query) {
        Ok(c) => c,
        Err(why) => return bad_request(why),
    };
    let series = match chart::series(state.store.as_ref(), period, by, state.clock.now()).await {
        Ok(series) => series,
        Err(e) => return failed(e),
    };
    match tokio::task::spawn_blocking(move || chart::render(&series)).await {
        Ok(Ok(png)) => harden(([(header::CONTENT_TYPE, "image/png")], png).into_response()),
        Ok(Err(e)) => failed(e),
        Err(e) => failed(e),
    }
}

async fn usage_csv(
    State(state): State<DashboardState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match state.gate.admits(&headers).await {
        Ok(Some(_)) => {}
        Ok(None) => return harden(StatusCode::UNAUTHORIZED.into_response()),
        Err(e) => return failed(e),
    }
    let (period, _, _) = match choices(&query) {
        Ok(c) => c,
        Err(why) => return bad_request(why),
    };
    let since = period.since(state.clock.now());
    let rows = match state
        .store
        .recent_usage(since, usage::MAX_EXPORT_ROWS, false)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return failed(e),
    };
    match usage::render_ledger_csv(&rows) {
        Ok(csv) => harden(
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"fanops-usage.csv\"",
                    ),
                ],
                csv,
            )
                .into_response(),
        ),
        Err(e) => failed(e),
    }
}
