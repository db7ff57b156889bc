//! Log lines fit where they go: JSON for shippers, no colour off a terminal, never inside
//! a reply in `fanops chat`, and an unreachable database named with its cause.

use crate::helpers::fanops;
use crate::support::{config_text, Failure, FakeModel, FakeOnlyFans, Reply, LUNA};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Only there so that a regression cannot hang the suite; nothing is measured with it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Waits for `child`; kills it and fails if it is still running after [`HANG_GUARD`].
fn wait_guarded(child: &mut Child) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("fanops did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A config in `dir` whose model and API are never called, plus `extra`.
fn idle_config(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    let text = config_text("http://127.0.0.1:9/v1", "http://127.0.0.1:9", &db, extra);
    let path = dir.join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn assert_json_lines(stderr: &str) -> Vec<Value> {
    assert!(!stderr.contains('\u{1b}'), "no ANSI escapes: {stderr:?}");
    stderr
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}\n{stderr}"));
            assert!(value["level"].is_string(), "{line}");
            assert!(value["timestamp"].is_string(), "{line}");
            value
        })
        .collect()
}

#[test]
fn json_format_gives_one_object_per_line_from_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = idle_config(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\ndashboard = true\n\n[log]\nformat = \"json\"\n",
    );
    let mut child = fanops(&["run"], &path, dir.path())
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("FANOPS_DASHBOARD_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("FANOPS_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::helpers::stderr_lines(&mut child);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("fanops is ready")) {
        match lines.recv_timeout(HANG_GUARD) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("never ready: {seen:#?}");
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    seen.extend(lines.try_iter());
    let logs = assert_json_lines(&seen.join("\n"));
    let warnings: Vec<&str> = logs
        .iter()
        .filter(|l| l["level"] == "WARN")
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("FANOPS_DASHBOARD_TOKEN is not set: the operations page")),
        "run logs the config's warnings at start: {warnings:#?}"
    );
    assert!(
        logs.iter().any(|l| l["level"] == "INFO"
            && l["message"] == "fanops is ready"
            && l["backend"] == "sqlite"),
        "{logs:#?}"
    );
}

#[test]
fn fanops_log_format_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = idle_config(dir.path(), "[server]\ndashboard = true\n");
    let mut child = fanops(&["chat"], &path, dir.path())
        .env("FANOPS_LOG_FORMAT", "json")
        .env_remove("RUST_LOG")
        .env_remove("ONLYFANSAPI_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"/quit\n").unwrap();
    let status = wait_guarded(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{stderr}");
    let logs = assert_json_lines(&stderr);
    let messages: Vec<&str> = logs.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("FANOPS_DASHBOARD_TOKEN is not set: the operations page")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("ONLYFANSAPI_API_KEY is not set")),
        "{messages:#?}"
    );

    // An unknown format is a config error naming the variable and the allowed formats.
    let out = fanops(&["chat"], &path, dir.path())
        .env("FANOPS_LOG_FORMAT", "xml")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "environment variable FANOPS_LOG_FORMAT: log format `xml` must be one of: text, json"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn chat_prints_log_lines_between_turns_never_inside_a_reply() {
    let model = FakeModel::start().await;
    let api = FakeOnlyFans::start().await;
    api.fail_next("statistics/overview", vec![Failure::Status(500)]);
    model.push_all([
        Reply::tool(
            "call_endpoint",
            json!({"endpoint": "statistics/statistics-overview", "account": LUNA}),
        ),
        Reply::text("Overview for Luna:\n\nfirst line of the reply\n\nlast line of the reply"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, config_text(&model.url(), &api.url(), &db, "")).unwrap();
    // stdout and stderr share one file, as they share one terminal.
    let screen_path = dir.path().join("screen.txt");
    let screen = std::fs::File::create(&screen_path).unwrap();
    let mut child = fanops(&["chat"], &path, dir.path())
        .env_remove("RUST_LOG")
        .env_remove("FANOPS_LOG_FORMAT")
        .stdin(Stdio::piped())
        .stdout(screen.try_clone().unwrap())
        .stderr(screen)
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"how is Luna doing?\n/quit\n")
        .unwrap();
    let status = tokio::task::spawn_blocking(move || wait_guarded(&mut child))
        .await
        .unwrap();
    let screen = std::fs::read_to_string(&screen_path).unwrap();
    assert!(status.success(), "{screen}");
    assert_eq!(
        api.count("GET", &format!("/api/{LUNA}/statistics/overview")),
        2,
        "one 500, then the retry: {screen}"
    );

    let start = screen.find("On it…").expect("progress shown");
    let end = screen.find("last line of the reply").expect("the reply") + "last line".len();
    let turn = &screen[start..end];
    assert!(
        turn.contains("first line of the reply") && !turn.contains("WARN"),
        "the turn is one block, no log line inside: {screen}"
    );
    let warning = screen
        .find("OnlyFansAPI call failed, retrying")
        .unwrap_or_else(|| panic!("the retry is logged: {screen}"));
    let next_prompt = end
        + screen[end..]
            .find("you> ")
            .expect("a prompt after the reply");
    assert!(
        end < warning && warning < next_prompt,
        "the warning is printed above the next prompt: {screen}"
    );
    assert!(
        !screen.contains('\u{1b}'),
        "no colour off a terminal: {screen:?}"
    );
}

#[test]
fn an_unreachable_database_is_named_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = idle_config(dir.path(), "");
    // Port 1 on the loopback: nothing listens there, so the connection is refused.
    let mut child = fanops(&["migrate"], &path, dir.path())
        .env("DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:1/x")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_guarded(&mut child);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "names the host: {stderr}");
    assert!(
        stderr.to_lowercase().contains("connection refused"),
        "names the cause: {stderr}"
    );
    assert!(!stderr.contains("pool timed out"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "never the password: {stderr}");
}

/// An operator can follow the bot: one info line per answered message, with where it
/// came from, its kind, how long it took and what it cost.
// The CLI runs as a child process that calls the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answered_message_is_one_info_line() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    model.push(Reply::text("Hello there."));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, config_text(&model.url(), &api.url(), &db, "")).unwrap();
    let mut child = fanops(&["chat"], &path, dir.path())
        .env("FANOPS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Hi\n/help\n/quit\n")
        .unwrap();
    assert!(wait_guarded(&mut child).success());
    let out = child.wait_with_output().unwrap();
    let logs = assert_json_lines(&String::from_utf8_lossy(&out.stderr));
    let turns: Vec<&Value> = logs
        .iter()
        .filter(|l| l["fields"]["duration_ms"].is_number() || l["duration_ms"].is_number())
        .collect();
    assert_eq!(turns.len(), 2, "{logs:#?}");
    let field = |l: &Value, name: &str| {
        let v = &l["fields"][name];
        if v.is_null() {
            l[name].clone()
        } else {
            v.clone()
        }
    };
    let first = turns[0];
    assert_eq!(first["level"], "INFO");
    assert_eq!(field(first, "message"), "answered a message");
    assert_eq!(field(first, "platform"), "console");
    assert_eq!(field(first, "kind"), "message");
    assert_eq!(field(first, "outcome"), "answered");
    let credits: f64 = field(first, "credits").as_str().unwrap().parse().unwrap();
    assert!(credits > 0.0, "the model call's credits: {first}");
    assert_eq!(field(turns[1], "kind"), "command");
}

/// Reads `fanops run`'s JSON log lines from `child` until `done` holds for one.
fn read_until(
    child: &mut Child,
    lines: &std::sync::mpsc::Receiver<String>,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(HANG_GUARD) {
            Ok(line) => {
                let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if done(&value) {
                    return value;
                }
                seen.push(line);
            }
            Err(_) => {
                let _ = child.kill();
                panic!("not seen: {seen:#?}");
            }
        }
    }
}

#[tokio::test]
async fn a_wrong_sign_in_to_the_operations_page_is_logged_with_the_client_address() {
    let dir = tempfile::tempdir().unwrap();
    let path = idle_config(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\ndashboard = true\n\n[log]\nformat = \"json\"\n",
    );
    let mut child = fanops(&["run"], &path, dir.path())
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env("FANOPS_DASHBOARD_TOKEN", "the-right-token")
        .env_remove("RUST_LOG")
        .env_remove("FANOPS_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::helpers::stderr_lines(&mut child);
    let ready = read_until(&mut child, &lines, |l| l["message"] == "fanops is ready");
    let address = ready["address"].as_str().unwrap().to_string();
    fanops::app::install_tls_provider();
    let refused = reqwest::Client::new()
        .post(format!("http://{address}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=a-guess")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let warning = read_until(&mut child, &lines, |l| {
        l["level"] == "WARN"
            && l["message"]
                .as_str()
                .is_some_and(|m| m.contains("sign-in with a wrong token"))
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(warning["client"], "127.0.0.1", "{warning}");
    assert!(
        !warning.to_string().contains("a-guess"),
        "the guess is not logged"
    );
}
