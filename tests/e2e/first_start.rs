//! The first `fanops run`: with no chat platform it says so, where to read how to connect
//! one, and where the database is.

use crate::helpers::fanops;
use crate::support::config_text;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Only there so that a regression cannot hang the suite; nothing is measured with it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// `fanops run` in `dir` with `config`; the log lines up to and with "fanops is ready".
fn start(config: &str, dir: &Path) -> Vec<String> {
    let path = dir.join("fanops.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = fanops(&["run"], &path, dir)
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("FANOPS_LOG_FORMAT")
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::helpers::stderr_lines(&mut child);
    let mut seen: Vec<String> = Vec::new();
    while !seen.iter().any(|l| l.contains("fanops is ready")) {
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
    seen
}

/// The fakes' config without its `[channels.telegram]` table, on `db`, listening anywhere.
fn without_platforms(db: &str) -> String {
    let text = config_text("http://127.0.0.1:9/v1", "http://127.0.0.1:9", db, "");
    let text = &text[..text.find("[channels.telegram]").unwrap()];
    format!("{text}\n[server]\nlisten = \"127.0.0.1:0\"\n")
}

#[test]
fn with_no_chat_platform_it_says_so_where_to_read_and_where_the_data_is() {
    let dir = tempfile::tempdir().unwrap();
    // A relative file, as the default is: the full path is what a person needs.
    let seen = start(&without_platforms("sqlite://data.db"), dir.path());
    let notice = seen
        .iter()
        .find(|l| l.contains("no chat platform is configured"))
        .unwrap_or_else(|| panic!("{seen:#?}"));
    // Every platform of the registry, in its order: "Telegram, Slack, … or …".
    let titles: Vec<&str> = fanops::channels::PLATFORMS
        .iter()
        .map(|p| p.title())
        .collect();
    let (last, rest) = titles.split_last().unwrap();
    let platforms = format!("{} or {last}", rest.join(", "));
    for words in [
        "nobody can message fanops and scheduled tasks cannot post",
        "follow that platform's section of README.md",
        platforms.as_str(),
        "`fanops chat`",
    ] {
        assert!(notice.contains(words), "{words:?} in {notice}");
    }
    assert!(
        notice.contains("run `fanops init`"),
        "the set-up command is named: {notice}"
    );
    let ready = seen.last().unwrap();
    let file = dir.path().canonicalize().unwrap().join("data.db");
    assert!(
        ready.contains(&format!("database=the SQLite file {}", file.display())),
        "{ready}"
    );
    assert!(file.exists(), "the file named is the one opened");
}

#[test]
fn a_platform_that_is_configured_but_not_running_is_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config_text("http://127.0.0.1:9/v1", "http://127.0.0.1:9", &db, "")
        + "\n[server]\nlisten = \"127.0.0.1:0\"\n";
    let seen = start(&text, dir.path());
    if cfg!(feature = "telegram") {
        assert!(
            seen.iter()
                .any(|l| l.contains("TELEGRAM_BOT_TOKEN is not set")),
            "{seen:#?}"
        );
    }
    assert!(
        seen.iter()
            .any(|l| l.contains("no chat platform is running (the warnings above say why)")),
        "{seen:#?}"
    );
    assert!(
        !seen
            .iter()
            .any(|l| l.contains("no chat platform is configured")),
        "{seen:#?}"
    );
}
