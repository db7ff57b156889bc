//! Benchmarks for the conversation core (numbers, not pass/fail):
//! turn overhead, first-turn prompt size, agency_earnings fan-out, and `fanops run`'s
//! idle memory and start-to-ready time.
//!
//! `cargo bench --bench core`

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use fanops::app::App;
use fanops::config::{Config, ConfigSource};
use fanops::core::{Inbound, InboundBody, Outbound, Replier};
use fanops::llm::ToolSpec;
use fanops::onlyfans::catalog::Catalog;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{FakeModel, FakeOnlyFans, FakeTelegram, Reply};

struct Quiet;

#[async_trait::async_trait]
impl Replier for Quiet {
    fn working(&self) {}
    async fn reply(&self, _out: Outbound) {}
}

async fn app(model: &FakeModel, api: &FakeOnlyFans, dir: &std::path::Path) -> App {
    // FANOPS_BENCH_DB=sqlite::memory: (or a postgres:// URL) compares store backends.
    let db = std::env::var("FANOPS_BENCH_DB")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.join("bench.db").display()));
    let text = support::config_text(&model.url(), &api.url(), &db, "");
    let env = |name: &str| {
        matches!(name, "ONLYFANSAPI_API_KEY" | "FAKE_MODEL_KEY").then(|| format!("bench-{name}"))
    };
    let config = Config::load_with_env(
        ConfigSource::Text {
            origin: "bench.toml".into(),
            text,
        },
        &env,
    )
    .unwrap();
    App::build(config).await.unwrap()
}

fn inbound(chat: usize, text: &str) -> Inbound {
    Inbound {
        platform: "telegram".into(),
        chat: chat.to_string(),
        thread: None,
        user: "1".into(),
        user_name: "bench".into(),
        body: InboundBody::Text(text.into()),
    }
}

/// Exact o200k tokens (fanops itself only estimates; the target is stated in exact tokens).
fn count_tokens(text: &str) -> usize {
    static BPE: std::sync::OnceLock<tiktoken_rs::CoreBPE> = std::sync::OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().unwrap())
        .encode_ordinary(text)
        .len()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One question answered through one tool call, against servers that answer at once.
async fn turn_overhead() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    model.respond_with(|req: &Value| {
        let last = req["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned()
            .unwrap_or_default();
        if last["role"] == "tool" {
            Reply::Text("You earned $1,912.40.".into())
        } else {
            Reply::ToolCalls(vec![(
                "agency_earnings".into(),
                json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
            )])
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let app = app(&model, &api, dir.path()).await;
    for i in 0..20 {
        app.core
            .handle(inbound(i, "How much did we earn this week?"), &Quiet)
            .await;
    }
    // The fakes' own time: the same two model calls and one API call made directly.
    let http = reqwest::Client::new();
    let mut fake = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        for _ in 0..2 {
            let body = json!({"model": "x", "messages": [{"role": "user", "content": "hi"}]});
            http.post(format!("{}/chat/completions", model.url()))
                .bearer_auth("k")
                .json(&body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }
        http.get(format!(
            "{}/api/acct_8f3k2j1h0g9f8e7d/statistics/statements/earnings?start_date=x",
            api.url()
        ))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
        fake.push(started.elapsed());
    }
    fake.sort();
    let mut turns = Vec::new();
    for i in 0..200 {
        let started = Instant::now();
        app.core
            .handle(inbound(1000 + i, "How much did we earn this week?"), &Quiet)
            .await;
        turns.push(started.elapsed());
    }
    turns.sort();
    let median = percentile(&turns, 0.5);
    let fake_median = percentile(&fake, 0.5);
    println!("turn, wall clock (200 turns, 2 model calls + 1 API read each): median {median:?}, p90 {:?}", percentile(&turns, 0.9));
    println!("  of which the fake servers and loopback HTTP: median {fake_median:?}");
    println!(
        "  bot overhead per turn: median {:?} (target < 1 ms)",
        median.saturating_sub(fake_median)
    );
}

/// What the first model request for a plain question costs, against every endpoint as a tool.
async fn prompt_tokens() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    model.push(Reply::Text("ok".into()));
    let dir = tempfile::tempdir().unwrap();
    let app = app(&model, &api, dir.path()).await;
    app.core
        .handle(inbound(1, "How much did we earn this week?"), &Quiet)
        .await;
    let request = &model.requests()[0];
    let messages = count_tokens(&request["messages"].to_string());
    let tools = count_tokens(&request["tools"].to_string());
    println!("first request for \"How much did we earn this week?\": {} tokens (messages {messages}, {} tools {tools}) (target <= 3000)", messages + tools, request["tools"].as_array().map_or(0, Vec::len));
    let every: Vec<ToolSpec> = Catalog::embedded()
        .endpoints()
        .iter()
        .filter(|e| e.path.is_some())
        .map(|e| {
            let properties: serde_json::Map<String, Value> = e
                .params
                .iter()
                .map(|p| {
                    let kind = p.kind.as_str();
                    let mut schema = json!({"type": kind, "description": p.description});
                    if !p.enum_values.is_empty() {
                        schema["enum"] = json!(p.enum_values);
                    }
                    (p.name.clone(), schema)
                })
                .collect();
            let required: Vec<&str> = e
                .params
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name.as_str())
                .collect();
            ToolSpec::new(
                e.id.replace(['/', '-'], "_"),
                &e.summary,
                json!({"type": "object", "properties": properties, "required": required}),
            )
        })
        .collect();
    let every_tokens = count_tokens(&serde_json::to_string(&every).unwrap());
    println!(
        "  the same request with every catalog endpoint as its own tool: {} tokens ({} tools)",
        messages + every_tokens,
        every.len()
    );
}

/// `agency_earnings` over 50 creators whose API answers in 300 ms.
async fn earnings_fan_out() {
    let model = FakeModel::start().await;
    let api = FakeOnlyFans::start_with_accounts(50).await;
    api.set_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let app = app(&model, &api, dir.path()).await;
    let turn = fanops::agent::Turn {
        conversation: "bench".into(),
        tags: Default::default(),
        model: None,
        unattended: false,
        allow_writes: Vec::new(),
        role: fanops::core::Role::Operator,
    };
    let ctx = app.agent.tool_context(&turn);
    let args = json!({"start_date": "2025-06-01", "end_date": "2025-06-30"});
    for label in [
        "cold (account list fetched too)",
        "warm (account list cached)",
    ] {
        let started = Instant::now();
        let out = app
            .agent
            .registry
            .run_read("agency_earnings", &args, &ctx)
            .await
            .unwrap();
        let took = started.elapsed();
        assert_eq!(out["totals"]["accounts_with_data"], 50);
        println!("agency_earnings, 50 accounts, 300 ms API, {label}: {took:?} (target < 1.5 s)");
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `fanops run` on a fresh SQLite file: time until /readyz answers, then idle memory.
async fn run_start_and_memory() {
    let mut starts = Vec::new();
    let mut rss = 0;
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fanops"))
            .arg("run")
            .current_dir(dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("f.db").display()),
            )
            .env("FANOPS_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/readyz");
        loop {
            if let Ok(r) = reqwest::get(&url).await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "fanops run did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        starts.push(started.elapsed());
        if round == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            rss = rss_kib(child.id()).unwrap_or(0);
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    starts.sort();
    println!("fanops run on a new SQLite file: start to ready median {:?} over 5 starts (target < 200 ms)", percentile(&starts, 0.5));
    println!(
        "fanops run idle RSS: {:.1} MB (target < 30 MB)",
        rss as f64 / 1024.0
    );
}

/// 10,000 active tasks, each hourly at minute i % 60 (about 167 due every minute).
async fn scheduler_10k() {
    let (model, api, tg) = (
        FakeModel::start().await,
        FakeOnlyFans::start().await,
        FakeTelegram::start().await,
    );
    model.respond_with(|_| Reply::Text("done".into()));
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    for i in 0..10_000 {
        let text = format!(
            "name = \"Task {i}\"\ncategory = \"Reports\"\nprompt = \"Report.\"\n[schedule]\ncron = \"{} * * * *\"\ntimezone = \"UTC\"\n[deliver]\nchannel = \"telegram\"\nto = \"{}\"\n",
            i % 60,
            1000 + i % 50
        );
        std::fs::write(workflows.join(format!("task-{i:05}.toml")), text).unwrap();
    }
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let base = support::config_text(&model.url(), &api.url(), &db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    let text = format!(
        "{base}\n[channels.telegram]\napi_url = \"{}\"\npermitted_users = [1]\n[scheduler]\nworkflows_dir = \"{}\"\n",
        tg.url(),
        workflows.display()
    );
    let env = |name: &str| {
        matches!(
            name,
            "ONLYFANSAPI_API_KEY" | "FAKE_MODEL_KEY" | "TELEGRAM_BOT_TOKEN"
        )
        .then(|| "1:k".to_string())
    };
    let started = Instant::now();
    let replica_text = text.clone();
    let config = Config::load_with_env(
        ConfigSource::Text {
            origin: "b.toml".into(),
            text,
        },
        &env,
    )
    .unwrap();
    let app = App::build(config).await.unwrap();
    println!(
        "scheduler: 10,000 workflow files loaded and checked in {:?}",
        started.elapsed()
    );
    let scheduler = app.scheduler.clone();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-22T07:59:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let first = Instant::now();
    scheduler.tick(t0).await.unwrap();
    println!("  first tick (anchors 10,000 tasks): {:?}", first.elapsed());
    let mut lateness = Vec::new();
    let mut runs = Vec::new();
    for minute in 0..3i64 {
        let fire = t0 + chrono::Duration::seconds(30) + chrono::Duration::minutes(minute);
        let tick_started = Instant::now();
        let tick = scheduler.tick(fire).await.unwrap();
        // Each fire's lateness: how long after the tick began its claim was made (the
        // loop wakes at the due instant, so waking adds only timer jitter).
        let claimed = tick_started.elapsed();
        for (_, _, handle) in tick.started {
            lateness.push(claimed);
            runs.push(handle);
        }
    }
    lateness.sort();
    println!(
        "  3 minute boundaries, {} fires: lateness (claim done after the due instant) p50 {:?}, p99 {:?} (target p99 < 1 s)",
        lateness.len(),
        percentile(&lateness, 0.5),
        percentile(&lateness, 0.99)
    );
    futures::future::join_all(runs).await;
    let idle_at = t0 + chrono::Duration::minutes(2) + chrono::Duration::seconds(40);
    // 5 ms apart, all within 08:02:40–08:02:45, where nothing is due.
    const IDLE_TICKS: u32 = 1000;
    let cpu_before = cpu_time();
    let idle = Instant::now();
    for s in 0..IDLE_TICKS {
        scheduler
            .tick(idle_at + chrono::Duration::milliseconds(i64::from(s) * 5))
            .await
            .unwrap();
    }
    println!(
        "  idle tick between fires with 10,000 tasks: {:?} wall, {:?} process CPU per tick",
        idle.elapsed() / IDLE_TICKS,
        (cpu_time() - cpu_before) / IDLE_TICKS
    );
    // A replica started now knows nothing in memory: its first tick looks at every task.
    let replica = App::build(
        Config::load_with_env(
            ConfigSource::Text {
                origin: "b.toml".into(),
                text: replica_text,
            },
            &env,
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let restart = Instant::now();
    let tick = replica.scheduler.tick(idle_at).await.unwrap();
    assert!(tick.started.is_empty() && tick.missed.is_empty());
    println!(
        "  first tick of a replica started between fires (every task's facts read): {:?}",
        restart.elapsed()
    );
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list; there are no test cases here.
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `cargo bench --bench core -- turn scheduler` runs only the parts named.
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    rt.block_on(async {
        if wanted("turn") {
            turn_overhead().await;
        }
        if wanted("prompt") {
            prompt_tokens().await;
        }
        if wanted("earnings") {
            earnings_fan_out().await;
        }
        if wanted("run") {
            run_start_and_memory().await;
        }
        if wanted("scheduler") {
            scheduler_10k().await;
        }
    });
}
