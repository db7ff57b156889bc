//! What every part shares: the fakes, a `fanops run` child process pointed at them, one
//! question asked through the fake Telegram and timed from the fakes' handling log, and
//! the figures read from `/proc`.

use crate::support::{
    self, after_tool, last_user_text, FakeModel, FakeOnlyFans, FakeTelegram, Handled, Reply,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The fakes one `fanops run` talks to.
pub struct Fakes {
    pub tg: FakeTelegram,
    pub model: FakeModel,
    pub api: FakeOnlyFans,
}

impl Fakes {
    /// The fixture's two creator accounts.
    /// Its per-minute budget is far above any plan's, so the turn figures measure the bot,
    /// not a plan's limit (the 500 turns make more requests a minute than a Pro plan's 5,000).
    pub async fn start() -> Fakes {
        let api = FakeOnlyFans::start().await;
        api.set_rate_limit(1_000_000, std::time::Duration::from_secs(60));
        Fakes::with_api(api).await
    }

    pub async fn with_api(api: FakeOnlyFans) -> Fakes {
        Fakes {
            tg: FakeTelegram::start().await,
            model: FakeModel::start().await,
            api,
        }
    }
}

/// `[onlyfans] requests_per_minute` of a run.
#[derive(Clone, Copy)]
pub enum RateLimit {
    /// Not set: whatever fanops defaults to.
    Default,
    /// High enough that the limiter never waits: what is measured is fanops, not the quota.
    Unthrottled,
}

/// How one `fanops run` is configured.
pub struct Options {
    /// Telegram on (fake) with private chats 1..=`users` permitted; `None`: no channel.
    pub telegram_users: Option<u32>,
    pub rate_limit: RateLimit,
    /// Appended to the config (e.g. a `[scheduler]` table).
    pub extra: String,
}

impl Options {
    pub fn telegram(users: u32) -> Options {
        Options {
            telegram_users: Some(users),
            rate_limit: RateLimit::Unthrottled,
            extra: String::new(),
        }
    }
}

/// The test config (`support::config_text`) on a fresh SQLite file, with the rate limit,
/// listener and channel of `options`.
fn config(fakes: &Fakes, dir: &Path, port: u16, options: &Options) -> String {
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    let base = support::config_text(&fakes.model.url(), &fakes.api.url(), &db, "");
    let base = &base[..base.find("[channels.telegram]").expect("a telegram table")];
    let mut text: String = base
        .lines()
        .filter(|l| !l.trim_start().starts_with("requests_per_minute"))
        .map(|l| format!("{l}\n"))
        .collect();
    if let RateLimit::Unthrottled = options.rate_limit {
        text = text.replace("[onlyfans]\n", "[onlyfans]\nrequests_per_minute = 60000\n");
    }
    text.push_str(&format!("\n[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    if let Some(users) = options.telegram_users {
        let users: Vec<String> = (1..=users).map(|u| u.to_string()).collect();
        text.push_str(&format!(
            "\n[channels.telegram]\napi_url = \"{}\"\npermitted_users = [{}]\n",
            fakes.tg.url(),
            users.join(", ")
        ));
    }
    text.push_str(&format!("\n{}\n", options.extra));
    text
}

/// One `fanops run` (the release binary) in a fresh directory, killed when dropped.
pub struct Fanops {
    child: Child,
    spawned: Instant,
    pub base: String,
    log: PathBuf,
    /// Holds the config, the database and the log until the process is gone.
    _dir: tempfile::TempDir,
}

impl Fanops {
    /// Writes the config and starts the process; does not wait for it.
    pub fn start(fakes: &Fakes, options: &Options) -> Fanops {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let path = dir.path().join("fanops.toml");
        std::fs::write(&path, config(fakes, dir.path(), port, options)).unwrap();
        // For profiling: another build of the binary, its log level, and where to keep logs.
        let binary = std::env::var("FANOPS_BENCH_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fanops").to_string());
        let log_dir = std::env::var("FANOPS_BENCH_LOG_DIR").map(PathBuf::from);
        let log = log_dir
            .unwrap_or_else(|_| dir.path().to_path_buf())
            .join(format!("fanops-{port}.log"));
        let mut command = std::process::Command::new(binary);
        match std::env::var("FANOPS_BENCH_RUST_LOG") {
            Ok(filter) => command.env("RUST_LOG", filter),
            Err(_) => command.env_remove("RUST_LOG"),
        };
        let spawned = Instant::now();
        let child = command
            .arg("run")
            .arg("--config")
            .arg(&path)
            .current_dir(dir.path())
            .env("ONLYFANSAPI_API_KEY", "bench-key")
            .env("FAKE_MODEL_KEY", "bench-key")
            .env("FAKE_SEARCH_KEY", "bench-key")
            .env("TELEGRAM_BOT_TOKEN", "123:bench")
            .env("SLACK_BOT_TOKEN", "xoxb-bench")
            .env("SLACK_APP_TOKEN", "xapp-bench")
            .env("DISCORD_BOT_TOKEN", "bench-discord-token")
            .env_remove("DATABASE_URL")
            .env_remove("FANOPS_CONFIG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Fanops {
            child,
            spawned,
            base: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the first `/readyz` 200 (asked every 2 ms); returns the time since spawn.
    pub async fn ready(&mut self, limit: Duration) -> Duration {
        let http = reqwest::Client::new();
        let url = format!("{}/readyz", self.base);
        loop {
            if let Ok(r) = http.get(&url).send().await {
                if r.status() == 200 {
                    return self.spawned.elapsed();
                }
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("fanops run exited ({status}):\n{}", self.log());
            }
            assert!(
                self.spawned.elapsed() < limit,
                "fanops run was not ready within {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn memory(&self) -> Memory {
        Memory::of(self.pid())
    }

    pub fn cpu(&self) -> CpuTime {
        CpuTime::of(self.pid())
    }
}

impl Drop for Fanops {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory from `/proc/<pid>/status`: now (VmRSS) and the peak so far (VmHWM).
#[derive(Clone, Copy)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        }
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MB (peak so far {:.1} MB)",
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0
        )
    }
}

/// CPU time (nanoseconds, from `/proc/<pid>/task/*/schedstat`, which the kernel keeps at
/// nanosecond resolution) and context switches (`/proc/<pid>/task/*/status`) of each
/// thread of a process.
pub struct CpuTime(HashMap<String, (u64, u64)>);

impl CpuTime {
    pub fn of(pid: u32) -> CpuTime {
        let mut threads = HashMap::new();
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return CpuTime(threads);
        };
        for entry in dir.flatten() {
            let read = |file: &str| std::fs::read_to_string(entry.path().join(file));
            let ns = read("schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok());
            let switches = read("status").map_or(0, |status| {
                status
                    .lines()
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum()
            });
            if let Some(ns) = ns {
                let tid = entry.file_name().to_string_lossy().into_owned();
                threads.insert(tid, (ns, switches));
            }
        }
        CpuTime(threads)
    }

    /// CPU used and context switches made since `earlier` by the threads alive now (a
    /// thread that ended in between is not counted).
    pub fn since(&self, earlier: &CpuTime) -> (Duration, u64) {
        let (mut ns, mut switches) = (0, 0);
        for (tid, (now_ns, now_switches)) in &self.0 {
            let (then_ns, then_switches) = earlier.0.get(tid).copied().unwrap_or((0, 0));
            ns += now_ns.saturating_sub(then_ns);
            switches += now_switches.saturating_sub(then_switches);
        }
        (Duration::from_nanos(ns), switches)
    }
}

/// The model of the channel benchmarks: a question about earnings gets one
/// `agency_earnings` call and then an answer; anything else is answered at once. Each
/// answer repeats the question's tag (`#n`), so the bench can tell answers apart.
pub fn answer_questions(model: &FakeModel) {
    model.respond_with(|request: &Value| {
        let question = last_user_text(request);
        let tag = tag_of(question);
        if after_tool(request) {
            Reply::text(format!(
                "You earned $1,912.40 this week across your creators. {tag}"
            ))
        } else if question.contains("earn") {
            Reply::tool(
                "agency_earnings",
                json!({"start_date": "2025-06-02", "end_date": "2025-06-08"}),
            )
        } else {
            Reply::text(format!("Hello from fanops. {tag}"))
        }
    });
}

/// `(#n)` for a question ending in `#n`, else empty.
pub fn tag_of(question: &str) -> String {
    match question.rsplit_once('#') {
        Some((_, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            format!("(#{n})")
        }
        _ => String::new(),
    }
}

/// One turn as the fakes saw it.
#[derive(Debug, Clone, Copy)]
pub struct TurnTiming {
    /// The bench queued the message at the fake Telegram.
    pub pushed: Instant,
    /// The fake Telegram's `getUpdates` answer carrying it was ready.
    pub handed_out: Instant,
    /// The `editMessageText` with the answer reached the fake Telegram's handler.
    pub answered: Instant,
    /// Wall time in between during which at least one fake was inside a handler.
    pub in_fakes: Duration,
    /// Requests the fakes handled in between (getUpdates polls not counted).
    pub fake_requests: usize,
}

impl TurnTiming {
    /// From the message being queued to the answer arriving: what a person waits.
    pub fn user_wait(&self) -> Duration {
        self.answered - self.pushed
    }

    /// From the update being handed out to the answer arriving.
    pub fn handled(&self) -> Duration {
        self.answered - self.handed_out
    }

    /// [`TurnTiming::handled`] minus the time the fakes spent in their handlers.
    pub fn bot(&self) -> Duration {
        self.handled().saturating_sub(self.in_fakes)
    }
}

/// An empty `getUpdates` answer is `{"ok":true,"result":[]}`.
const EMPTY_POLL_BYTES: u64 = 23;

fn is_method(h: &Handled, method: &str) -> bool {
    h.path
        .rsplit('/')
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case(method))
}

/// The turn started by a message queued at `pushed` and answered with an edit, from the
/// fakes' handling log; `None` until the answer has arrived.
pub fn turn_timing(tg: &FakeTelegram, pushed: Instant, log: &[Handled]) -> Option<TurnTiming> {
    let tg_addr: std::net::SocketAddr = tg.url().trim_start_matches("http://").parse().ok()?;
    let on_tg = |h: &&Handled| h.server == tg_addr;
    let handed_out = log
        .iter()
        .filter(on_tg)
        .filter(|h| is_method(h, "getUpdates") && h.finished >= pushed)
        .filter(|h| h.body_bytes.is_some_and(|b| b > EMPTY_POLL_BYTES))
        .map(|h| h.finished)
        .min()?;
    let answered = log
        .iter()
        .filter(on_tg)
        .filter(|h| is_method(h, "editMessageText") && h.started >= handed_out)
        .map(|h| h.started)
        .min()?;
    let work: Vec<(Instant, Instant)> = log
        .iter()
        .filter(|h| !(h.server == tg_addr && is_method(h, "getUpdates")))
        .map(|h| (h.started.max(handed_out), h.finished.min(answered)))
        .filter(|(from, to)| from < to)
        .collect();
    Some(TurnTiming {
        pushed,
        handed_out,
        answered,
        in_fakes: union_length(work.clone()),
        fake_requests: work.len(),
    })
}

/// The total length of a set of intervals, overlaps counted once.
fn union_length(mut spans: Vec<(Instant, Instant)>) -> Duration {
    spans.sort();
    let mut total = Duration::ZERO;
    let mut current: Option<(Instant, Instant)> = None;
    for (from, to) in spans {
        current = match current {
            Some((a, b)) if from <= b => Some((a, b.max(to))),
            Some((a, b)) => {
                total += b - a;
                Some((from, to))
            }
            None => Some((from, to)),
        };
    }
    if let Some((a, b)) = current {
        total += b - a;
    }
    total
}

/// Asks `text` in private chat `user` and waits for the answer edited into "On it…"
/// (so the question must need a tool). Nothing else may be in flight.
pub async fn ask_timed(tg: &FakeTelegram, user: i64, text: &str, limit: Duration) -> TurnTiming {
    support::clear_handled();
    let pushed = Instant::now();
    tg.push_text(user, user, text);
    loop {
        if let Some(timing) = turn_timing(tg, pushed, &support::handled()) {
            return timing;
        }
        assert!(
            pushed.elapsed() < limit,
            "no answer to {text:?} within {limit:?}; chat {user} has {:?}",
            tg.sent_texts(user)
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until every `(chat, marker)` has a message containing the marker.
pub async fn answered_all(tg: &FakeTelegram, expected: &[(i64, String)], limit: Duration) {
    let started = Instant::now();
    let mut waiting: Vec<&(i64, String)> = expected.iter().collect();
    while !waiting.is_empty() {
        waiting.retain(|(chat, marker)| !tg.sent_texts(*chat).iter().any(|t| t.contains(marker)));
        assert!(
            started.elapsed() < limit,
            "{} questions unanswered after {limit:?}, e.g. {:?}",
            waiting.len(),
            waiting.first()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `sorted[p]` by nearest rank (`p` in 0..=1).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Sorted copy.
pub fn sorted(mut values: Vec<Duration>) -> Vec<Duration> {
    values.sort();
    values
}

/// `1.23 ms` / `456 µs` / `1.234 s`: enough digits for the figure, no more.
pub fn ms(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1000.0)
    } else {
        format!("{:.3} s", micros / 1e6)
    }
}
