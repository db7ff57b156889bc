//! `fanops init`: a first `fanops.toml` from a few answers, asked at a terminal (a
//! pseudo-terminal here) or given as flags; `fanops check` accepts it and `fanops run`
//! starts with it; it never holds a secret and never replaces a file without `--force`.

use crate::support::FakeOnlyFans;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn init(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanops"))
        .arg("init")
        .args(args)
        .current_dir(dir)
        .env_remove("FANOPS_CONFIG")
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

const EVERY_PLATFORM: &[&str] = &[
    "--non-interactive",
    "--timezone",
    "Europe/London",
    "--platform",
    "telegram",
    "--answer",
    "telegram.admin=123456789",
    "--platform",
    "slack",
    "--answer",
    "slack.mode=events",
    "--answer",
    "slack.admin=U012ABCDEF",
    "--platform",
    "discord",
    "--platform",
    "whatsapp",
    "--answer",
    "whatsapp.phone_number_id=106540352242922",
    "--answer",
    "whatsapp.admin=447700900123",
    "--platform",
    "teams",
    "--answer",
    "teams.app_id=00000000-0000-0000-0000-000000000001",
];

#[test]
fn flags_write_a_file_check_accepts_with_every_platform_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = init(dir.path(), EVERY_PLATFORM);
    assert!(out.status.success(), "{}", said(&out));
    let text = std::fs::read_to_string(dir.path().join("fanops.toml")).unwrap();
    for table in ["telegram", "slack", "discord", "whatsapp", "teams"] {
        assert!(text.contains(&format!("[channels.{table}]")), "{text}");
    }
    assert!(
        text.contains("roles = { \"123456789\" = \"admin\" }"),
        "{text}"
    );
    assert!(text.contains("timezone = \"Europe/London\""), "{text}");
    let printed = said(&out);
    for var in [
        "ONLYFANSAPI_API_KEY",
        "OPENAI_API_KEY",
        "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DISCORD_BOT_TOKEN",
        "WHATSAPP_TOKEN",
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "TEAMS_APP_PASSWORD",
    ] {
        assert!(
            printed.contains(&format!("export {var}=")),
            "{var}: {printed}"
        );
        assert!(
            !text.contains(&format!("{var} =")),
            "no secret in the file: {text}"
        );
    }
    assert!(
        !printed.contains("SLACK_APP_TOKEN"),
        "events mode needs no app token"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["check", "--config"])
        .arg(dir.path().join("fanops.toml"))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", said(&check));
    assert!(said(&check).contains("OK: "), "{}", said(&check));
}

#[test]
fn a_file_is_kept_and_bad_answers_are_named() {
    let dir = tempfile::tempdir().unwrap();
    assert!(init(dir.path(), &["--non-interactive"]).status.success());
    let again = init(dir.path(), &["--non-interactive"]);
    assert!(!again.status.success());
    assert!(said(&again).contains("already exists; nothing was written. Pass --force"));
    assert!(init(dir.path(), &["--non-interactive", "--force"])
        .status
        .success());
    let cases: &[(&[&str], &str)] = &[
        (
            &["--platform", "telegram", "--answer", "telegram.admin=abc"],
            "--answer telegram.admin: `abc` is not a number",
        ),
        (
            &["--platform", "whatsapp"],
            "WhatsApp needs --answer whatsapp.phone_number_id=…",
        ),
        (
            &["--platform", "fax"],
            "--platform fax is not a platform this build runs",
        ),
        (
            &["--answer", "slack.mode=socket"],
            "names a platform not given with --platform slack",
        ),
        (
            &["--timezone", "Mars/Olympus"],
            "`Mars/Olympus` is not a time zone",
        ),
        (
            &["--provider", "acme"],
            "--provider acme is not one init writes: use openai or openrouter",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["--non-interactive", "--force"];
        all.extend_from_slice(args);
        let out = init(dir.path(), &all);
        assert!(!out.status.success(), "{args:?}");
        assert!(said(&out).contains(expected), "{args:?}: {}", said(&out));
    }
}

/// `fanops run` starts with what init wrote (no chat platform: nothing reaches outside).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_starts_with_the_file_init_wrote() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    assert!(init(dir.path(), &["--non-interactive"]).status.success());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["run", "--config"])
        .arg(dir.path().join("fanops.toml"))
        .current_dir(dir.path())
        .env("FANOPS_LISTEN", format!("127.0.0.1:{port}"))
        .env("ONLYFANSAPI_BASE_URL", api.url())
        .env("ONLYFANSAPI_API_KEY", "k")
        .env("OPENAI_API_KEY", "k")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut healthy = false;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            healthy = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(healthy, "fanops run answered /healthz");
    assert!(
        dir.path().join("fanops.db").exists(),
        "the SQLite file init named"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_at_a_terminal_asks_one_question_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let screen = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fanops"));
        command
            .arg("init")
            .current_dir(&path)
            .env_remove("FANOPS_CONFIG")
            .env("TERM", "xterm");
        let options = rexpect::reader::Options::new()
            .timeout_ms(Some(60_000))
            .strip_ansi_escape_codes(true);
        let mut p = rexpect::session::spawn_with_options(command, options).unwrap();
        let mut screen = p.exp_string("time zone").unwrap();
        p.send("\r").unwrap(); // UTC, the default
        p.flush().unwrap();
        screen.push_str(&p.exp_string("model provider").unwrap());
        p.send("\r").unwrap(); // OpenAI, the first
        p.flush().unwrap();
        screen.push_str(&p.exp_string("model id").unwrap());
        p.send("\r").unwrap(); // its default model
        p.flush().unwrap();
        screen.push_str(&p.exp_string("chat platforms").unwrap());
        p.send(" ").unwrap(); // Telegram, the first
        p.send("\r").unwrap();
        p.flush().unwrap();
        screen.push_str(&p.exp_string("Telegram user id").unwrap());
        p.send("abc\r").unwrap(); // refused, asked again
        p.flush().unwrap();
        screen.push_str(&p.exp_string("is not a number").unwrap());
        for _ in 0..3 {
            p.send("\u{7f}").unwrap(); // backspace over "abc"
        }
        p.send("42\r").unwrap();
        p.flush().unwrap();
        screen.push_str(&p.exp_string("Wrote fanops.toml").unwrap());
        screen.push_str(&p.exp_eof().unwrap());
        screen
    })
    .await
    .unwrap();
    assert!(screen.contains("export TELEGRAM_BOT_TOKEN="), "{screen}");
    let text = std::fs::read_to_string(dir.path().join("fanops.toml")).unwrap();
    assert!(text.contains("permitted_users = [42]"), "{text}");
    assert!(text.contains("timezone = \"UTC\""), "{text}");
}
