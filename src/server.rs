//! The HTTP listener: `/healthz`, `/readyz`, `/metrics` (webhook routes join it as their
//! features land).

use crate::health::Health;
use crate::store::SharedStore;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct ServerState {
    pub store: SharedStore,
    pub health: Health,
}

/// Health, readiness and metrics; channels merge their webhook routes into it.
pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The store and every part, as `/readyz` reports them; also sets the `fanops_ready` gauge.
async fn readiness(state: &ServerState) -> (bool, serde_json::Value) {
    let store = state.store.ping().await;
    let parts = state.health.report();
    let ok = store.is_ok() && parts.values().all(|c| c.ok);
    crate::metrics::get().ready.set(i64::from(ok));
    let body = json!({
        "ready": ok,
        "store": match &store {
            Ok(()) => json!({"ok": true, "backend": state.store.backend()}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        "channels": parts,
    });
    (ok, body)
}

async fn readyz(State(state): State<ServerState>) -> impl IntoResponse {
    let (ok, body) = readiness(&state).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus text; readiness is judged at each scrape, so `fanops_ready` is current
/// whether or not anyone calls `/readyz`.
async fn metrics(State(state): State<ServerState>) -> impl IntoResponse {
    readiness(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        crate::metrics::render(),
    )
}

/// Serves until `shutdown` is cancelled.
pub async fn run(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // The peer's address reaches the handlers (the login throttle is keyed by it).
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
