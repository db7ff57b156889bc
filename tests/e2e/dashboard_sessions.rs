//! The operations page's sign-in: each login is a random session kept in the store (so
//! replicas agree), `POST /logout` ends it, a new token ends every session, sessions
//! expire, and wrong sign-ins are throttled per client address.

use crate::helpers::{build_app, DASHBOARD_TOKEN};
use crate::support::{config_text, FakeModel, FakeOnlyFans};
use fanops::clock::Clock;
use fanops::config::Secret;
use std::net::IpAddr;
use std::path::Path;
use tokio_util::sync::CancellationToken;

/// One fanops process serving the page on its own listener.
struct Replica {
    base: String,
    clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Replica {
    /// A replica on the database in `dir`, with `token` as `FANOPS_DASHBOARD_TOKEN`.
    async fn start(model: &FakeModel, api: &FakeOnlyFans, dir: &Path, token: &str) -> Replica {
        let db = format!("sqlite://{}", dir.join("fanops.db").display());
        let text = config_text(
            &model.url(),
            &api.url(),
            &db,
            "[server]\ndashboard = true\n",
        );
        let (mut app, clock) = build_app("sessions.toml", text, false).await;
        app.config.secrets.dashboard_token = Secret::new(token);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.serve(listener, shutdown.clone()));
        Replica {
            base,
            clock,
            shutdown,
            server,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }

    /// The page's status with `cookie` (`name=value`).
    async fn status_with(&self, cookie: &str) -> u16 {
        client(None)
            .get(format!("{}/", self.base))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A client that does not follow redirects, from `from` (a loopback address) if given.
fn client(from: Option<IpAddr>) -> reqwest::Client {
    fanops::app::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(from)
        .build()
        .unwrap()
}

async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> reqwest::Response {
    http.post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap()
}

/// Signs in with `token` and returns the session cookie as `name=value`.
async fn session_cookie(base: &str, token: &str) -> String {
    let response = sign_in(&client(None), base, token).await;
    assert_eq!(response.status(), 303);
    let set = response.headers()["set-cookie"].to_str().unwrap();
    assert!(!set.contains(token), "{set}");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_login_is_a_session_that_logout_a_new_token_or_time_ends() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let a = Replica::start(&model, &api, dir.path(), DASHBOARD_TOKEN).await;
    let b = Replica::start(&model, &api, dir.path(), DASHBOARD_TOKEN).await;

    let first = session_cookie(&a.base, DASHBOARD_TOKEN).await;
    let second = session_cookie(&a.base, DASHBOARD_TOKEN).await;
    assert_ne!(first, second, "each login is its own session");
    assert_eq!(a.status_with(&first).await, 200);
    assert_eq!(b.status_with(&first).await, 200, "another replica agrees");

    let out = client(None)
        .post(format!("{}/logout", b.base))
        .header("cookie", &first)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(a.status_with(&first).await, 401, "a copied cookie ends too");
    assert_eq!(b.status_with(&first).await, 401);
    assert_eq!(a.status_with(&second).await, 200, "the other login stays");

    // The token changes: a process started with the new one admits no old session.
    let renewed = Replica::start(&model, &api, dir.path(), "a-brand-new-token").await;
    assert_eq!(renewed.status_with(&second).await, 401);
    let fresh = session_cookie(&renewed.base, "a-brand-new-token").await;
    assert_eq!(renewed.status_with(&fresh).await, 200);

    // Thirty days later the login is over.
    a.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    assert_eq!(a.status_with(&second).await, 401);
    for replica in [a, b, renewed] {
        replica.stop().await;
    }
}

#[tokio::test]
async fn wrong_sign_ins_are_throttled_per_client_address() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let page = Replica::start(&model, &api, dir.path(), DASHBOARD_TOKEN).await;
    let guesser = client(Some("127.0.0.1".parse().unwrap()));
    let mut statuses = Vec::new();
    let mut last_body = String::new();
    for n in 0..20 {
        let response = sign_in(&guesser, &page.base, &format!("guess-{n}")).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
        last_body = response.text().await.unwrap();
    }
    assert_eq!(
        statuses[..10],
        [401; 10],
        "ten wrong guesses are only refused"
    );
    assert_eq!(statuses[19], 429, "{statuses:?}");
    assert!(
        last_body.contains("Too many sign-ins from your address. The next one is allowed in"),
        "{last_body}"
    );
    let right_but_throttled = sign_in(&guesser, &page.base, DASHBOARD_TOKEN).await;
    assert_eq!(
        right_but_throttled.status(),
        429,
        "a throttled address cannot learn that a guess was right"
    );

    let elsewhere = client(Some("127.0.0.2".parse().unwrap()));
    let signed_in = sign_in(&elsewhere, &page.base, DASHBOARD_TOKEN).await;
    assert_eq!(signed_in.status(), 303, "another address signs in");
    page.stop().await;
}
