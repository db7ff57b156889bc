//! Memory of a busy `fanops run` (numbers, not pass/fail): resident memory when idle,
//! after the first turn, and after 1,000 turns across 50 Telegram chats, each turn a
//! question answered through one `agency_earnings` call; and how long the first turn
//! takes against later ones.
//!
//! `cargo bench --bench memory` (set `FANOPS_BIN` to measure another build of fanops).

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{FakeModel, FakeOnlyFans, FakeTelegram, Reply};

const CHATS: i64 = 50;
const ROUNDS: usize = 20;
const QUESTION: &str = "How much did we earn this week?";
const ANSWER: &str = "You earned $1,912.40";

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Answers a question with one `agency_earnings` call, and its result with a sentence.
fn answer_through_one_tool(model: &FakeModel) {
    model.respond_with(|request: &Value| {
        let last = request["messages"].as_array().and_then(|m| m.last());
        if last.is_some_and(|m| m["role"] == "tool") {
            Reply::Text(format!("{ANSWER} across your accounts this week."))
        } else {
            Reply::ToolCalls(vec![(
                "agency_earnings".into(),
                json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
            )])
        }
    });
}

fn config(tg: &FakeTelegram, model: &FakeModel, api: &FakeOnlyFans, db: &str) -> String {
    let base = support::config_text(&model.url(), &api.url(), db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    format!(
        "{base}\n[channels.telegram]\napi_url = \"{}\"\npoll_timeout = 1\npermitted_users = [{}]\n",
        tg.url(),
        (1..=CHATS)
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn answers(tg: &FakeTelegram, chat: i64) -> usize {
    tg.sent_texts(chat)
        .iter()
        .filter(|t| t.contains(ANSWER))
        .count()
}

/// Waits until every chat in `chats` has `want` answers.
async fn wait_answers(tg: &FakeTelegram, chats: std::ops::Range<i64>, want: usize) {
    let started = Instant::now();
    while !chats.clone().all(|chat| answers(tg, chat) >= want) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "fanops stopped answering"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// One turn in the private chat `chat` (its user has the same id), alone: the time from the update to the answer.
async fn one_turn(tg: &FakeTelegram, chat: i64) -> Duration {
    let before = answers(tg, chat);
    let started = Instant::now();
    tg.push_text(chat, chat, QUESTION);
    wait_answers(tg, chat..chat + 1, before + 1).await;
    started.elapsed()
}

async fn busy_run() {
    let (tg, model, api) = (
        FakeTelegram::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    answer_through_one_tool(&model);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config_path = dir.path().join("fanops.toml");
    std::fs::write(&config_path, config(&tg, &model, &api, &db)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary =
        std::env::var("FANOPS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_fanops").to_string());
    let mut child = std::process::Command::new(&binary)
        .args(["run", "--config"])
        .arg(&config_path)
        .current_dir(dir.path())
        .env("FANOPS_LISTEN", format!("127.0.0.1:{port}"))
        .env("ONLYFANSAPI_API_KEY", "bench-key")
        .env("FAKE_MODEL_KEY", "bench-key")
        .env("TELEGRAM_BOT_TOKEN", "123:bench")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let started = Instant::now();
    while !reqwest::get(&ready)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(started.elapsed() < Duration::from_secs(20), "not ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(pid);

    let first = one_turn(&tg, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_first = rss_mib(pid);

    let mut peak = after_first;
    for round in 0..ROUNDS {
        for chat in 1..=CHATS {
            if round > 0 || chat > 1 {
                tg.push_text(chat, chat, QUESTION);
            }
        }
        wait_answers(&tg, 1..CHATS + 1, round + 1).await;
        peak = peak.max(rss_mib(pid));
    }
    let turns: usize = (1..=CHATS).map(|chat| answers(&tg, chat)).sum();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let steady = rss_mib(pid);

    let mut later: Vec<Duration> = Vec::new();
    for i in 0..20 {
        later.push(one_turn(&tg, 1 + i % CHATS).await);
    }
    later.sort();
    child.kill().unwrap();
    child.wait().unwrap();

    println!("fanops run ({binary})");
    println!("  RSS idle before the first message: {idle:.1} MiB");
    println!("  RSS after the first turn:          {after_first:.1} MiB");
    println!("  RSS after {turns} turns across {CHATS} chats: {steady:.1} MiB (peak while busy {peak:.1} MiB; target < 30 MiB)");
    println!(
        "  first turn {first:?}; later single turns: median {:?}, max {:?}",
        later[later.len() / 2],
        later[later.len() - 1]
    );
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
    rt.block_on(busy_run());
}
