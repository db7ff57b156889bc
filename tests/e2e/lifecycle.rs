//! The process's life against fakes that behave like the real services: Telegram holds
//! idle long polls for the whole timeout, processes get SIGTERM and kill -9 in the middle
//! of a turn, and a quiet webhook is not a dead one.

use crate::support::{after_tool, last_user_text, FakeModel, FakeOnlyFans, FakeTelegram, Reply};
use fanops::clock::Clock;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const USERS: [i64; 3] = [1, 2, 3];

/// The model answers every question with "Answer: <the question>".
fn echo_answers(model: &FakeModel) {
    model.respond_with(|request| Reply::Text(format!("Answer: {}", last_user_text(request))));
}

/// How many answers to `question` Telegram received in `chat`.
fn answers(tg: &FakeTelegram, chat: i64, question: &str) -> usize {
    let answer = format!("Answer: {question}");
    tg.sent_texts(chat)
        .iter()
        .filter(|t| t.contains(&answer))
        .count()
}

/// Waits until the model has received `n` requests (recorded when they arrive).
async fn model_requests(model: &FakeModel, n: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if model.request_count() >= n {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Waits until Telegram received exactly one answer to `question` in `chat`.
async fn answered_once(tg: &FakeTelegram, chat: i64, question: &str, limit: Duration) -> bool {
    let (t, question) = (tg.clone(), question.to_string());
    tg.wait_for(move |_| answers(&t, chat, &question) == 1, limit)
        .await
}

/// Waits until each of users 1, 2 and 3 has an answer to their question.
async fn all_answered(tg: &FakeTelegram, limit: Duration) -> bool {
    let t = tg.clone();
    let all = move |_: &[crate::support::TgCall]| {
        USERS
            .iter()
            .all(|u| answers(&t, *u, &format!("question {u}")) >= 1)
    };
    tg.wait_for(all, limit).await
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// One `fanops run` child process, killed however the test ends.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(config: &Path, dir: &Path, name: &str) -> Process {
        let log = dir.join(format!("{name}.log"));
        let child = crate::helpers::fanops(&["run"], config, dir)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Process { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit on its own, up to `limit`.
    async fn exited(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get(url: &str) -> (u16, String) {
    fanops::app::install_tls_provider();
    match reqwest::get(url).await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// Waits until `/readyz` answers 200.
async fn ready(base: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if get(&format!("{base}/readyz")).await.0 == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

struct Setup {
    tg: FakeTelegram,
    model: FakeModel,
    _api: FakeOnlyFans,
    dir: tempfile::TempDir,
    path: PathBuf,
    base: String,
}

async fn setup(telegram: &str) -> Setup {
    let (tg, model, api, dir) = crate::scheduler::fakes().await;
    echo_answers(&model);
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let port = free_port();
    let text = crate::helpers::telegram_config(
        &tg,
        &model,
        &api,
        &db,
        telegram,
        &format!("[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_grace = \"30s\""),
    );
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    Setup {
        tg,
        model,
        _api: api,
        dir,
        path,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Starts `fanops run`, waits until it is ready, and has users 1, 2 and 3 each ask a
/// question the model takes `delay` to answer; returns once all three are in flight.
async fn three_turns_in_flight(s: &Setup, delay: Duration) -> Process {
    let first = Process::start(&s.path, s.dir.path(), "first");
    assert!(
        ready(&s.base, Duration::from_secs(20)).await,
        "{}",
        first.log()
    );
    s.model.set_delay(delay);
    for user in USERS {
        s.tg.push_text(user, user, &format!("question {user}"));
    }
    assert!(
        model_requests(&s.model, 3, Duration::from_secs(20)).await,
        "three turns in flight; log:\n{}",
        first.log()
    );
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_turns_in_flight_finish_and_loses_no_message() {
    let s = setup("poll_timeout = 2").await;
    let mut first = three_turns_in_flight(&s, Duration::from_secs(3)).await;
    // Readiness reaches the gauge without anyone asking /readyz.
    let (_, metrics) = get(&format!("{}/metrics", s.base)).await;
    assert!(metrics.contains("fanops_ready 1"), "{metrics}");
    let (_, readyz) = get(&format!("{}/readyz", s.base)).await;
    let readyz: Value = serde_json::from_str(&readyz).unwrap();
    assert_eq!(
        readyz["channels"]["scheduler"]["ok"],
        json!(true),
        "{readyz}"
    );
    assert!(readyz["channels"]["scheduler"]["detail"]
        .as_str()
        .unwrap()
        .starts_with("last tick "));
    first.terminate();
    // Sent while stopping: not taken by this process, answered after the restart.
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.tg.push_text(1, 1, "late question");
    let status = first.exited(Duration::from_secs(40)).await;
    assert!(
        status.is_some(),
        "stopped within the grace period; log:\n{}",
        first.log()
    );
    for user in USERS {
        assert_eq!(
            answers(&s.tg, user, &format!("question {user}")),
            1,
            "answered before exiting; log:\n{}",
            first.log()
        );
    }
    assert_eq!(answers(&s.tg, 1, "late question"), 0);

    s.model.set_delay(Duration::ZERO);
    let second = Process::start(&s.path, s.dir.path(), "second");
    let late = answered_once(&s.tg, 1, "late question", Duration::from_secs(30)).await;
    assert!(late, "answered after the restart; log:\n{}", second.log());
    // Time for a second answer to show up, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for user in USERS {
        assert_eq!(answers(&s.tg, user, &format!("question {user}")), 1);
    }
    assert_eq!(answers(&s.tg, 1, "late question"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_claimed_messages_are_answered_once_at_the_next_start() {
    let s = setup("poll_timeout = 2").await;
    let mut first = three_turns_in_flight(&s, Duration::from_secs(60)).await;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    for user in USERS {
        assert_eq!(answers(&s.tg, user, &format!("question {user}")), 0);
    }

    s.model.set_delay(Duration::ZERO);
    let second = Process::start(&s.path, s.dir.path(), "second");
    let all = all_answered(&s.tg, Duration::from_secs(60)).await;
    assert!(all, "answered after the restart; log:\n{}", second.log());
    tokio::time::sleep(Duration::from_secs(3)).await;
    for user in USERS {
        assert_eq!(
            answers(&s.tg, user, &format!("question {user}")),
            1,
            "answered once; log:\n{}",
            second.log()
        );
    }
    assert!(second.log().contains("previous owner did not answer"));
}

/// The real wiring in this process, with an adjustable clock.
async fn serve_in_process(
    s: &Setup,
) -> (
    Clock,
    String,
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let text = std::fs::read_to_string(&s.path).unwrap();
    let served = crate::helpers::serve_text("lifecycle.toml", text).await;
    (served.clock, served.base, served.shutdown, served.server)
}

#[tokio::test]
async fn a_quiet_webhook_stays_ready() {
    let s = setup("mode = \"webhook\"\nwebhook_url = \"https://bot.example.com/telegram/webhook\"")
        .await;
    let (clock, base, shutdown, server) = serve_in_process(&s).await;
    assert!(ready(&base, Duration::from_secs(20)).await);
    let update = json!({
        "update_id": 77,
        "message": {
            "message_id": 1, "date": 0, "text": "question 1",
            "chat": {"id": 1, "type": "private", "first_name": "User1"},
            "from": {"id": 1, "is_bot": false, "first_name": "User1"},
        }
    });
    let posted = reqwest::Client::new()
        .post(format!("{base}/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", "hook-secret")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(answered_once(&s.tg, 1, "question 1", Duration::from_secs(10)).await);
    // Two hours without an update: quiet, not broken.
    clock.advance(Duration::from_secs(2 * 3600));
    // The scheduler ticks every second: its next tick is fresh on the moved clock.
    assert!(ready(&base, Duration::from_secs(5)).await);
    let (status, body) = get(&format!("{base}/readyz")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["channels"]["telegram"]["seconds_since_ok"]
            .as_u64()
            .unwrap()
            >= 7200
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_long_polls_keep_the_bot_ready_through_a_quiet_minute() {
    // The default poll timeout: Telegram holds each idle poll for 25 s.
    let s = setup("").await;
    let (_clock, base, shutdown, server) = serve_in_process(&s).await;
    assert!(ready(&base, Duration::from_secs(10)).await);
    let quiet = Instant::now();
    let mut samples = 0;
    while quiet.elapsed() < Duration::from_secs(45) {
        let (status, body) = get(&format!("{base}/readyz")).await;
        assert_eq!(
            status,
            200,
            "ready throughout, {:?} into the quiet: {body}",
            quiet.elapsed()
        );
        samples += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Each idle poll was held for its whole timeout and none failed: a client that gave
    // up early would have polled again (and backed off) several times by now.
    let polls = s.tg.get_updates_count();
    assert!(
        polls <= 4,
        "{polls} polls in 45 s of quiet (the first is not held)"
    );
    let asked = Instant::now();
    s.tg.push_text(1, 1, "question 1");
    assert!(answered_once(&s.tg, 1, "question 1", Duration::from_secs(10)).await);
    println!(
        "{samples} readiness checks, all 200; {polls} polls; answered {:?} after asking",
        asked.elapsed()
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

/// `/readyz`'s Telegram detail of the process at `base`.
async fn telegram_detail(base: &str) -> String {
    let (_, body) = get(&format!("{base}/readyz")).await;
    serde_json::from_str::<Value>(&body).unwrap_or_default()["channels"]["telegram"]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Two processes on one database: one polls, the other stands by and takes over when the
/// poller is killed.
async fn one_replica_polls_and_another_takes_over(db: String) {
    let (tg, model, api, dir) = crate::scheduler::fakes().await;
    echo_answers(&model);
    let mut replicas = Vec::new();
    for name in ["a", "b"] {
        let port = free_port();
        let text = crate::helpers::telegram_config(
            &tg,
            &model,
            &api,
            &db,
            "poll_timeout = 2",
            &format!("[server]\nlisten = \"127.0.0.1:{port}\""),
        );
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        let process = Process::start(&path, dir.path(), name);
        let base = format!("http://127.0.0.1:{port}");
        assert!(
            ready(&base, Duration::from_secs(20)).await,
            "{}",
            process.log()
        );
        replicas.push((process, base));
    }
    // The first to start polls; the second is ready, standing by.
    let (a, b) = (replicas[0].1.clone(), replicas[1].1.clone());
    let (a, b) = (a.as_str(), b.as_str());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !telegram_detail(b).await.starts_with("standby") && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(telegram_detail(a)
        .await
        .starts_with("polling (holds it as "));
    let standby = telegram_detail(b).await;
    assert!(
        standby.starts_with("standby: polling is held by "),
        "{standby}"
    );
    assert!(get(&format!("{b}/readyz")).await.0 == 200);

    tg.push_text(1, 1, "question 1");
    assert!(answered_once(&tg, 1, "question 1", Duration::from_secs(10)).await);
    replicas[0].0.child.kill().unwrap();
    replicas[0].0.child.wait().unwrap();
    tg.push_text(2, 2, "question 2");
    let taken_over = answered_once(&tg, 2, "question 2", Duration::from_secs(40)).await;
    assert!(
        taken_over,
        "the standby took over; log:\n{}",
        replicas[1].0.log()
    );
    assert!(telegram_detail(b)
        .await
        .starts_with("polling (holds it as "));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(answers(&tg, 1, "question 1"), 1);
    assert_eq!(answers(&tg, 2, "question 2"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_takes_over_polling_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    one_replica_polls_and_another_takes_over(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_takes_over_polling_on_postgres() {
    crate::store::in_fresh_postgres(
        "the polling takeover",
        one_replica_polls_and_another_takes_over,
    )
    .await;
}

/// A scheduled post whose chart Telegram did not take waits in the store; the process is
/// killed before the re-send; the next start posts the chart once and never the text again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_waiting_to_be_sent_again_survives_kill_9() {
    use chrono::{DurationRound, Utc};
    let (tg, model, api, dir) = crate::scheduler::fakes().await;
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    model.push_all([
        Reply::ToolCalls(vec![(
            "make_chart".into(),
            json!({"title": "Net", "labels": ["Luna"], "series": [{"name": "net", "values": [1912.4]}]}),
        )]),
        Reply::Text("Yesterday: $1,912.40 net.".into()),
    ]);
    // A daily task whose fire fell due two minutes ago: owed the moment fanops starts.
    let fire = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap()
        - chrono::Duration::minutes(2);
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        format!(
            "name = \"Digest\"\ncategory = \"Reports\"\nprompt = \"Digest.\"\n\n[schedule]\ndaily = \"{}\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"telegram\"\nto = \"555\"\n",
            fire.format("%H:%M")
        ),
    )
    .unwrap();
    let store = fanops::store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let anchor = fire - chrono::Duration::minutes(1);
    store
        .set_state(
            &fanops::tasks::anchor_key("digest"),
            &anchor.timestamp_millis().to_string(),
        )
        .await
        .unwrap();
    let text = crate::helpers::telegram_config(
        &tg,
        &model,
        &api,
        &db,
        "poll_timeout = 2",
        &format!(
            "[server]\nlisten = \"127.0.0.1:{}\"\n\n[scheduler]\nworkflows_dir = \"{}\"\ndelivery_retry = \"4s\"\n",
            free_port(),
            workflows.display()
        ),
    );
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    // Telegram keeps refusing the chart until the outbox gives up on it.
    tg.fail_next(
        "sendphoto",
        vec![crate::support::TgFailure::RetryAfter(0); 8],
    );
    let mut first = Process::start(&path, dir.path(), "first");
    let deadline = Instant::now() + Duration::from_secs(30);
    let waiting = loop {
        let runs = store.recent_runs("digest", 1).await.unwrap();
        let waiting = runs
            .first()
            .filter(|r| r.delivery_retry.is_some_and(|n| n > 0));
        if waiting.is_some() || Instant::now() > deadline {
            break waiting.map(|r| r.outcome());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(
        waiting.is_some(),
        "the chart waits to be sent again; log:\n{}",
        first.log()
    );
    assert_eq!(tg.sent_texts(555).len(), 1);
    let photos = |tg: &FakeTelegram| {
        tg.calls_of("sendphoto").len() - 8 // the refused ones
    };
    assert_eq!(photos(&tg), 0, "not re-sent before the kill");

    let second = Process::start(&path, dir.path(), "second");
    let t = tg.clone();
    let resent = tg
        .wait_for(move |_| photos(&t) >= 1, Duration::from_secs(30))
        .await;
    assert!(
        resent,
        "the next start sends the chart; log:\n{}",
        second.log()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(photos(&tg), 1, "the chart is posted once");
    assert_eq!(
        tg.sent_texts(555).len(),
        1,
        "the text is never posted again"
    );
    let run = &store.recent_runs("digest", 1).await.unwrap()[0];
    assert!(
        run.delivered_at.is_some() && run.delivery_error.is_none(),
        "{run:?}"
    );
}

/// Killed while a tool runs: the "On it…" messages already posted are edited into the
/// answers at the next start, not left behind next to new ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_mid_tool_the_on_it_message_becomes_the_answer() {
    let s = setup("poll_timeout = 2").await;
    s.model.respond_with(|request| {
        if after_tool(request) {
            return Reply::Text(format!("Answer: {}", last_user_text(request)));
        }
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )])
    });
    let first = Process::start(&s.path, s.dir.path(), "first");
    assert!(
        ready(&s.base, Duration::from_secs(20)).await,
        "{}",
        first.log()
    );
    // A first question caches the account list; then the earnings reads hang.
    s.tg.push_text(1, 1, "warm up");
    assert!(answered_once(&s.tg, 1, "warm up", Duration::from_secs(20)).await);
    s._api.set_delay(Duration::from_secs(120));
    for user in USERS {
        s.tg.push_text(user, user, &format!("question {user}"));
    }
    let on_it = |tg: &FakeTelegram, chat: i64| {
        tg.sent_texts(chat)
            .iter()
            .filter(|t| t.contains("On it"))
            .count()
    };
    let t = s.tg.clone();
    let posted =
        s.tg.wait_for(
            move |_| USERS.iter().all(|u| on_it(&t, *u) == 1),
            Duration::from_secs(20),
        )
        .await;
    assert!(posted, "each turn posted On it; log:\n{}", first.log());
    // Time for the placeholder to be recorded with its claim.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    s._api.set_delay(Duration::ZERO);
    let second = Process::start(&s.path, s.dir.path(), "second");
    let all = all_answered(&s.tg, Duration::from_secs(60)).await;
    assert!(all, "answered after the restart; log:\n{}", second.log());
    tokio::time::sleep(Duration::from_secs(2)).await;
    for user in USERS {
        assert_eq!(answers(&s.tg, user, &format!("question {user}")), 1);
        assert_eq!(
            on_it(&s.tg, user),
            0,
            "no On it is left behind in chat {user}"
        );
    }
}
