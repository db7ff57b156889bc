//! The login form, signing in (a new session, throttled per client address, each wrong
//! token logged with the address) and signing out (the session ends for every replica).

use super::{failed, harden, html, page, DashboardState};
use crate::dashboard::auth;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub(super) async fn form() -> Response {
    html(StatusCode::OK, page::login(None))
}

/// The address the request came from: the socket's peer. Proxy headers such as
/// `X-Forwarded-For` are not trusted (anyone can send them); behind a proxy every
/// client shares the proxy's address.
fn client(extensions: &Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

pub(super) async fn sign_in(
    State(state): State<DashboardState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let client = client(&extensions);
    if let Err(wait) = state.gate.sign_in_allowed(client) {
        tracing::warn!(%client, "operations page: a sign-in was refused, too many from this address");
        return throttled(wait);
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !state.gate.accepts(&token) {
        tracing::warn!(%client, "operations page: a sign-in with a wrong token was refused");
        return html(
            StatusCode::UNAUTHORIZED,
            page::login(Some("That token is not right.")),
        );
    }
    match state.gate.open_session(&headers).await {
        Ok(Some(cookie)) => {
            tracing::info!(%client, "operations page: signed in");
            redirect(&cookie)
        }
        Ok(None) => html(
            StatusCode::UNAUTHORIZED,
            page::login(Some("That token is not right.")),
        ),
        Err(e) => failed(e),
    }
}

/// 429 with the login form, saying how long to wait.
fn throttled(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let note = format!(
        "Too many sign-ins from your address. The next one is allowed in {seconds} seconds."
    );
    let mut response = html(StatusCode::TOO_MANY_REQUESTS, page::login(Some(&note)));
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub(super) async fn sign_out(State(state): State<DashboardState>, headers: HeaderMap) -> Response {
    if let Err(e) = state.gate.end_session(&headers).await {
        return failed(e);
    }
    redirect(&auth::logout_cookie(&headers))
}

/// 303 to the page, setting `cookie`.
fn redirect(cookie: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, HeaderValue::from_static("/"));
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
    harden(response)
}
