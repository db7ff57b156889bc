//! `fanops chat` at a real terminal (a pseudo-terminal): a long paste arrives whole and
//! is answered with the message limit in words, as over a pipe, rather than being cut at
//! the terminal's 4,095-character line limit and sent on; a question still gets its answer.

use crate::helpers::fanops;
use crate::support::{config_text, FakeModel, FakeOnlyFans, Reply};
use std::io::Write;
use std::process::Stdio;

/// Only there so that a regression cannot hang the suite; nothing is measured with it.
const HANG_GUARD_MS: u64 = 120_000;

/// What bracketed paste wraps a paste in, as a terminal sends it.
const PASTE_START: &str = "\u{1b}[200~";
const PASTE_END: &str = "\u{1b}[201~";

/// 10,000 characters over ten lines.
fn long_paste() -> String {
    let text = vec!["x".repeat(999); 10].join("\n") + "x";
    assert_eq!(text.chars().count(), 10_000);
    text
}

/// What the core says of a message over the limit, read from a pipe: the words the
/// terminal must say too.
fn limit_said_over_a_pipe(config: &std::path::Path, dir: &std::path::Path) -> String {
    let mut child = fanops(&["chat"], config, dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let message = "y".repeat(10_000);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{message}\n/quit\n").as_bytes())
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = stdout
        .lines()
        .find(|l| l.contains("the limit is"))
        .unwrap_or_else(|| panic!("the pipe is told the limit: {stdout}"));
    said.trim_start_matches("fanops> ").to_string()
}

/// The end of what the terminal showed, for a failure's message.
fn tail(screen: &str) -> String {
    let chars: Vec<char> = screen.chars().collect();
    chars[chars.len().saturating_sub(600)..].iter().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_paste_at_a_terminal_is_told_the_limit_and_a_question_is_answered() {
    let model = FakeModel::start().await;
    let api = FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config = dir.path().join("fanops.toml");
    std::fs::write(&config, config_text(&model.url(), &api.url(), &db, "")).unwrap();
    let said = limit_said_over_a_pipe(&config, dir.path());
    assert_eq!(
        said,
        "Your message is 10000 characters long; the limit is 8000. Please shorten it."
    );
    model.push(Reply::text("We earned $4,210.55 this week."));

    let mut command = fanops(&["chat"], &config, dir.path());
    command.env_remove("RUST_LOG").env("TERM", "xterm");
    let (paste, dir_path) = (long_paste(), dir.path().to_path_buf());
    let screen = tokio::task::spawn_blocking(move || {
        let options = rexpect::reader::Options::new()
            .timeout_ms(Some(HANG_GUARD_MS))
            .strip_ansi_escape_codes(true);
        let mut chat = rexpect::session::spawn_with_options(command, options).unwrap();
        let mut screen = chat.exp_string("you> ").unwrap();
        chat.send(&format!("{PASTE_START}{paste}{PASTE_END}"))
            .unwrap();
        chat.send("\r").unwrap();
        chat.flush().unwrap();
        let told = chat
            .exp_any(vec![
                rexpect::ReadUntil::String("the limit is 8000".into()),
                rexpect::ReadUntil::String("We earned".into()),
            ])
            .unwrap();
        screen.push_str(&told.0);
        screen.push_str(&told.1);
        assert!(
            told.1 == "the limit is 8000",
            "the paste was sent on instead of being refused: {:?}",
            tail(&screen)
        );
        screen.push_str(&chat.exp_string("you> ").unwrap());
        chat.send("How much did we earn this week?\r").unwrap();
        chat.flush().unwrap();
        let answer = "We earned $4,210.55 this week.";
        screen.push_str(&chat.exp_string(answer).unwrap());
        screen.push_str(answer);
        screen.push_str(&chat.exp_string("you> ").unwrap());
        chat.send("/quit\r").unwrap();
        chat.flush().unwrap();
        screen.push_str(&chat.exp_eof().unwrap());
        let _ = dir_path;
        screen
    })
    .await
    .unwrap();
    assert!(
        screen.contains(&said),
        "the same words as over a pipe: {:?}",
        tail(&screen)
    );
    // The paste never reached the model; the question did.
    let requests = model.requests();
    assert_eq!(requests.len(), 1, "one model call, for the question");
    let asked = requests[0].to_string();
    assert!(asked.contains("How much did we earn this week?"));
    assert!(!asked.contains(&"x".repeat(999)));
}
