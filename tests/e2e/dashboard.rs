//! The operations page (`GET /`): off by default, behind `FANOPS_DASHBOARD_TOKEN` (bearer
//! or the login form's cookie), refused beyond loopback without the token, and shown in a
//! real headless Chromium with the seeded tasks, usage and audit rows.

use crate::browser::{chromium, Browser};
use crate::budgets::charge;
use crate::helpers::{build_app, send_to, DASHBOARD_TOKEN};
use crate::support::{config_text, FakeModel, FakeOnlyFans};
use chrono::{Duration, Utc};
use fanops::app::App;
use fanops::budget::Scope;
use fanops::core::InboundBody;
use fanops::store::{
    ActionStatus, Decision, DedupKey, EventOutcome, PendingAction, RunStatus, SharedStore,
    StoredEvent, TaskRun, UsageEntry, UsageSource,
};
use tokio_util::sync::CancellationToken;

const TASK: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "telegram"
to = "555"
"#;

struct Page {
    base: String,
    store: SharedStore,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _fakes: (FakeModel, FakeOnlyFans, tempfile::TempDir),
}

impl Page {
    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

async fn app_with(server: &str) -> (App, (FakeModel, FakeOnlyFans, tempfile::TempDir)) {
    let (model, api, dir) = (
        FakeModel::start().await,
        FakeOnlyFans::start().await,
        tempfile::tempdir().unwrap(),
    );
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("morning-digest.toml"), TASK).unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let extra = format!(
        "[server]\n{server}\n\n[scheduler]\nworkflows_dir = \"{}\"\n\n[budgets]\nmonthly_credits = 50000\nuser_monthly_credits = 5000\n",
        workflows.display()
    );
    let text = config_text(&model.url(), &api.url(), &db, &extra);
    let (app, _) = build_app("dashboard.toml", text, false).await;
    (app, (model, api, dir))
}

/// A tip from a fan whose name is markup, which one rule sent and another filtered.
async fn seed_event(store: &SharedStore) {
    let now = Utc::now();
    let event = StoredEvent {
        id: "ev-1".into(),
        source: "onlyfansapi".into(),
        name: "tips.received".into(),
        kind: "tip".into(),
        account: Some("acct_42".into()),
        occurred_at: now - Duration::minutes(5),
        received_at: now - Duration::minutes(5),
        fields: serde_json::json!({"fan_name": "<b>x</b>", "amount": 25.0}),
        raw: "{}".into(),
    };
    let key = DedupKey {
        key: "onlyfansapi:ev-1".into(),
        until: now + Duration::days(1),
    };
    assert!(store.insert_event(&event, &key, now).await.unwrap());
    for (rule, outcome) in [
        ("big-tips", "sent"),
        ("vip-only", "filtered: below min_amount"),
    ] {
        let claimed = store
            .claim_event_rule(
                &EventOutcome {
                    event_id: event.id.clone(),
                    rule: rule.into(),
                    outcome: outcome.into(),
                    at: now,
                },
                None,
            )
            .await
            .unwrap();
        assert!(claimed);
    }
}

/// Usage, two runs, a budget change, a waiting write and an event: what the page must show.
async fn seed(app: &App) {
    seed_event(&app.store).await;
    let store = &app.store;
    charge(store, "1", 84.5).await;
    charge(store, "3", 21.0).await;
    // Two weeks of earlier usage by two models, for a chart worth looking at.
    for day in 1..14i64 {
        for (model, kind, user, credits) in [
            ("gpt-4.1-mini", "chat", "1", 40.0 + (day * 37 % 50) as f64),
            (
                "gpt-4.1",
                "scheduled",
                "scheduler",
                25.0 + (day * 13 % 30) as f64,
            ),
        ] {
            let entry = UsageEntry {
                at: Utc::now() - Duration::days(day),
                platform: "telegram".into(),
                user: user.into(),
                kind: kind.into(),
                model: Some(model.into()),
                source: UsageSource::Model,
                credits,
                cost_usd: credits / 100.0,
                ..UsageEntry::default()
            };
            store.record_usage(&entry).await.unwrap();
        }
    }
    app.agent
        .budgets()
        .set(&Scope::User("1".into()), Some(2000.0), "3")
        .await
        .unwrap();
    let fire = Utc::now() - Duration::hours(3);
    for (task, status, delivered) in [
        ("morning-digest", RunStatus::Succeeded, true),
        ("weekly-recap", RunStatus::SkippedBudget, false),
    ] {
        store
            .claim_run(task, fire, RunStatus::Running, fire)
            .await
            .unwrap();
        let run = TaskRun {
            task: task.into(),
            scheduled_for: fire,
            status,
            started_at: fire,
            finished_at: Some(fire),
            model: Some("test-model".into()),
            output: Some("Yesterday the agency earned $1,912.40.".into()),
            credits: 0.5,
            delivered_at: None,
            delivery_error: None,
            delivery_retry: None,
        };
        store.finish_run(&run).await.unwrap();
        if delivered {
            store
                .record_delivery(task, fire, fire, None, None)
                .await
                .unwrap();
        }
    }
    let now = Utc::now();
    store
        .insert_action(&PendingAction {
            id: "a1".into(),
            conversation: "telegram:100:".into(),
            platform: "telegram".into(),
            requested_by: "1".into(),
            tool: "call_endpoint".into(),
            tool_call_id: "call_1".into(),
            arguments: serde_json::json!({}),
            summary: "Send <b>Thanks for the tip, Jake!</b> to fan 99120455".into(),
            status: ActionStatus::Pending,
            created_at: now,
            expires_at: now + Duration::minutes(10),
            decided_by: None,
            decided_at: None,
            result: None,
            prepared: None,
        })
        .await
        .unwrap();
}

async fn serve(server: &str) -> Page {
    let (app, fakes) = app_with(server).await;
    seed(&app).await;
    let store = app.store.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Page {
        base,
        store,
        shutdown,
        server,
        _fakes: fakes,
    }
}

fn client() -> reqwest::Client {
    fanops::app::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_page_is_off_unless_enabled() {
    let page = serve("dashboard = false").await;
    let response = client()
        .get(format!("{}/", page.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    page.stop().await;
}

#[tokio::test]
async fn without_the_token_it_refuses_to_start_beyond_loopback() {
    let (mut app, _fakes) = app_with("dashboard = true\nlisten = \"0.0.0.0:8080\"").await;
    app.config.secrets.dashboard_token = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = app
        .serve(listener, CancellationToken::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("refusing to start"), "{error}");
    assert!(error.contains("FANOPS_DASHBOARD_TOKEN"), "{error}");
}

#[tokio::test]
async fn the_token_opens_it_as_a_bearer_or_through_the_login_form() {
    let page = serve("dashboard = true").await;
    let http = client();
    let url = format!("{}/", page.base);
    let refused = http.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert!(refused.text().await.unwrap().contains("name=\"token\""));
    let wrong = http.get(&url).bearer_auth("not-it").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    for path in ["/usage.png", "/usage.csv"] {
        let response = http
            .get(format!("{}{path}", page.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{path}");
    }

    let shown = http
        .get(&url)
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let csp = shown.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = shown.text().await.unwrap();
    for needle in [
        "Morning digest",
        "set the monthly budget of user 1 to 2,000 credits a month",
        "test-model",
        "50,000",
        "2,000",
        "skipped: budget",
        "Recent events",
        "acct_42",
        "$25",
        "big-tips: sent",
        "vip-only: filtered: below min_amount",
    ] {
        assert!(html.contains(needle), "{needle} in the page");
    }
    // Data is escaped, never markup.
    assert!(html.contains("Send &lt;b&gt;Thanks for the tip, Jake!&lt;/b&gt;"));
    assert!(!html.contains("<b>Thanks"));
    assert!(
        html.contains("&lt;b&gt;x&lt;/b&gt; $25"),
        "the fan name is escaped"
    );
    assert!(!html.contains("<b>x</b>"));

    let png = http
        .get(format!("{}/usage.png?period=7d&by=user", page.base))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    assert_eq!(&png.bytes().await.unwrap()[1..4], b"PNG");
    let csv = http
        .get(format!("{}/usage.csv?period=all", page.base))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 + 13 * 2, "{csv}");
    let bad = http
        .get(format!("{}/?period=fortnight", page.base))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    let wrong_login = http
        .post(format!("{}/login", page.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_login.status(), 401);
    let login = http
        .post(format!("{}/login", page.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={DASHBOARD_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(DASHBOARD_TOKEN));
    let session = cookie.split(';').next().unwrap().to_string();
    let with_cookie = http
        .get(&url)
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(with_cookie.status(), 200);
    drop(page.store.clone());
    page.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_browser_signs_in_and_sees_tasks_usage_and_audit() {
    let Some(binary) = chromium() else {
        eprintln!("skipped: chromium is not installed (apt-get install -y chromium)");
        return;
    };
    let page = serve("dashboard = true").await;
    let base = page.base.clone();
    let shot = tokio::task::spawn_blocking(move || {
        let mut browser = Browser::start(&binary);
        browser.viewport(1100, 900, false);
        assert_eq!(browser.open(&format!("{base}/")), 401, "no token: 401");
        let form = browser.eval("document.querySelector('form[action=\"/login\"]') !== null");
        assert_eq!(form, true, "the login form is shown");

        browser.clear_events();
        browser.eval(&format!(
            "document.getElementById('token').value = '{DASHBOARD_TOKEN}'; document.forms[0].submit(); true"
        ));
        assert_eq!(browser.loaded(), 200, "signed in");
        let text = browser.eval("document.body.innerText").as_str().unwrap().to_string();
        for needle in [
            "Morning digest (morning-digest)",
            "skipped: budget",
            "set the monthly budget of user 1 to 2,000 credits a month",
            "test-model",
            "Waiting for confirmation",
            "Thanks for the tip, Jake!",
            "Recent events",
            "<b>x</b> $25",
            "big-tips: sent",
        ] {
            assert!(text.contains(needle), "{needle} in:\n{text}");
        }
        let chart = browser.eval(
            "(() => { const i = document.querySelector('img.chart'); return i.complete ? i.naturalWidth : -1; })()",
        );
        assert_eq!(chart, 1000, "the usage chart loads with the login cookie");
        let cookie_from_script = browser.eval("document.cookie");
        assert_eq!(cookie_from_script, "", "the session cookie is HttpOnly");
        let desktop = browser.screenshot();

        // On a phone the page fits the screen's width; wide tables scroll inside it.
        browser.viewport(390, 844, true);
        let overflow = browser.eval("document.documentElement.scrollWidth - window.innerWidth");
        assert!(overflow.as_i64().unwrap() <= 0, "page wider than a phone by {overflow}");
        desktop
    })
    .await
    .unwrap();
    assert_eq!(&shot[1..4], b"PNG");
    // `FANOPS_SCREENSHOT=docs/dashboard.png cargo test --test e2e dashboard::` refreshes
    // the README's pictures: the page, and a chart beside it (`usage-chart.png`).
    if let Ok(path) = std::env::var("FANOPS_SCREENSHOT") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::write(&path, &shot).unwrap();
        let chart = client()
            .get(format!("{}/usage.png?period=30d&by=kind", page.base))
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        std::fs::write(path.with_file_name("usage-chart.png"), chart).unwrap();
    }
    page.stop().await;
}

/// Asks for a write in chat 100 as user 1; returns the pending action's id.
async fn ask_for_a_write(app: &App, model: &FakeModel, text: &str) -> String {
    model.push(crate::support::Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        serde_json::json!({
            "endpoint": "chat-messages/send-message",
            "account": "acct_8f3k2j1h0g9f8e7d",
            "params": {"chat_id": 99120455, "text": text}
        }),
    )]));
    let reply = send_to(app, "1", "100", InboundBody::Text(format!("Say: {text}")))
        .await
        .last();
    reply.confirm.expect("a confirmation prompt").action_id
}

#[tokio::test]
async fn the_audit_log_and_waiting_writes_read_in_plain_words() {
    let (app, fakes) = app_with("dashboard = true").await;
    let model = &fakes.0;
    let confirmed = ask_for_a_write(&app, model, "Thanks for the tip, Jake!").await;
    model.push(crate::support::Reply::text("Sent your thanks to Jake."));
    let press = InboundBody::Decision {
        action_id: confirmed.clone(),
        decision: Decision::Confirm,
    };
    send_to(&app, "1", "100", press).await;
    let waiting = ask_for_a_write(&app, model, "See you tonight!").await;
    app.agent
        .budgets()
        .set(&Scope::User("1".into()), Some(2000.0), "3")
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    let html = client()
        .get(format!("{base}/"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = |id: &str| {
        let start = html.find(&format!("id=\"{id}\"")).unwrap();
        let end = html[start..].find("</section>").unwrap();
        html[start..start + end].to_string()
    };
    let audit = section("audit");
    for needle in [
        "asked for confirmation: Send Message",
        "confirmed: Send Message",
        "done: Send Message",
        "Thanks for the tip, Jake!",
        "set the monthly budget of user 1 to 2,000 credits a month",
    ] {
        assert!(audit.contains(needle), "{needle} in:\n{audit}");
    }
    for id in [&confirmed, &waiting] {
        assert!(!audit.contains(id.as_str()), "no action id in:\n{audit}");
    }
    assert!(!audit.contains("budget.set") && !audit.contains("action."));
    let pending = section("pending");
    assert!(pending.contains("See you tonight!"), "{pending}");
    assert!(pending.contains("<td>telegram:100</td>"), "{pending}");
    assert!(
        !html.contains("telegram:100:"),
        "no trailing colon anywhere"
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
