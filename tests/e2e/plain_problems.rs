//! What `fanops check`, `fanops run` and chat say about a config or a workflow that is
//! wrong: a mistyped folder is a problem at its line (and `run` refuses it), every problem
//! is one plain line (a cron names its field and the field's range), and the README's own
//! description of a workflow file is enough to write one that loads.

use crate::helpers::fanops;
use crate::support::config_text;
use fanops::config::{Config, ConfigSource};
use fanops::tasks::workflow;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// Only there so that a regression cannot hang the suite; nothing is measured with it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A config in `dir` whose model and API are never called, with `extra` appended.
fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    let text = config_text("http://127.0.0.1:9/v1", "http://127.0.0.1:9", &db, extra);
    let path = dir.join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The 1-based line of `text` that starts with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

/// `fanops check` in `dir`: exit code and stdout.
fn check(config: &Path, dir: &Path) -> (Option<i32>, String) {
    let out = fanops(&["check"], config, dir)
        .env_remove("DATABASE_URL")
        .env_remove("FANOPS_LOG_FORMAT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout)
}

/// Every line `fanops check` printed is a located problem (starting with one of
/// `origins`), a warning or the summary.
fn assert_one_line_each(stdout: &str, origins: &[&str]) {
    for line in stdout.lines() {
        let known = origins.iter().any(|o| line.starts_with(o))
            || line.starts_with("warning: ")
            || line.ends_with("problem(s) found.");
        assert!(
            known,
            "a line that is not a problem of its own: {line:?} in\n{stdout}"
        );
    }
}

/// Starts `fanops run` with stderr read line by line on a thread.
fn start_run(config: &Path, dir: &Path) -> (Child, Receiver<String>) {
    let mut child = fanops(&["run"], config, dir)
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("RUST_LOG")
        .env_remove("FANOPS_LOG_FORMAT")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::helpers::stderr_lines(&mut child);
    (child, lines)
}

/// Lines until one contains any of `needles` (or the process's stderr closes).
fn read_until(child: &mut Child, lines: &Receiver<String>, needles: &[&str]) -> Vec<String> {
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| needles.iter().any(|n| l.contains(n)))
    {
        match lines.recv_timeout(HANG_GUARD) {
            Ok(line) => seen.push(line),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("never saw {needles:?}: {seen:#?}");
            }
        }
    }
    seen
}

#[test]
fn a_mistyped_folder_is_a_problem_at_its_line_and_run_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("workflows")).unwrap();
    std::fs::create_dir(dir.path().join("my-skills")).unwrap();
    let config = write_config(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[scheduler]\nworkflows_dir = \"workflwos\"\n\n[skills]\ndir = \"my-skils\"\n",
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let file = config.display().to_string();
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    let here = dir.path().canonicalize().unwrap();
    for (prefix, key, value, unloaded) in [
        (
            "workflows_dir",
            "[scheduler] workflows_dir",
            "workflwos",
            "its workflow files would never be loaded, so their tasks would never run",
        ),
        (
            "dir = ",
            "[skills] dir",
            "my-skils",
            "its skills would never be loaded",
        ),
    ] {
        let expected = format!(
            "{file}:{}: {key} `{value}` does not exist (looked for {}): {unloaded}; correct the path or create the folder",
            line_of(&text, prefix),
            here.join(value).display()
        );
        assert!(
            stdout.lines().any(|l| l == expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    assert!(stdout.ends_with("2 problem(s) found.\n"), "{stdout}");
    assert_one_line_each(&stdout, &[&format!("{file}:")]);

    // `fanops run` agrees: it names the same problems and starts nothing.
    let (mut child, lines) = start_run(&config, dir.path());
    let seen = read_until(
        &mut child,
        &lines,
        &["nothing was started", "fanops is ready"],
    );
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(!status.success(), "{seen:#?}");
    assert!(
        !seen.iter().any(|l| l.contains("fanops is ready")),
        "{seen:#?}"
    );
    for value in ["workflwos", "my-skils"] {
        assert!(
            seen.iter()
                .any(|l| l.starts_with(&file) && l.contains(&format!("`{value}` does not exist"))),
            "{value}: {seen:#?}"
        );
    }

    // Spelled right, both pass.
    let fixed = text
        .replace("\"workflwos\"", "\"workflows\"")
        .replace("\"my-skils\"", "\"my-skills\"");
    std::fs::write(&config, fixed).unwrap();
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(0), "{stdout}");
}

#[test]
fn the_default_folders_may_be_absent() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    assert!(!dir.path().join("workflows").exists());
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("OK: ")), "{stdout}");
}

#[test]
fn a_folder_that_is_a_file_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.toml"), "").unwrap();
    let config = write_config(dir.path(), "[scheduler]\nworkflows_dir = \"tasks.toml\"\n");
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("[scheduler] workflows_dir `tasks.toml` is a file, not a folder"),
        "{stdout}"
    );
}

/// A cron mistake in each field, and malformed steps, ranges, lists and field counts,
/// each with what `fanops check` must say about it.
const BAD_CRONS: &[(&str, &str)] = &[
    ("60 8 * * *", "minute 60 is out of range 0–59"),
    ("0 24 * * *", "hour 24 is out of range 0–23"),
    ("0 8 32 * *", "day of month 32 is out of range 1–31"),
    ("0 8 * 13 *", "month 13 is out of range 1–12 or jan–dec"),
    ("0 8 * * 8", "day of week 8 is out of range 0–7 or sun–sat"),
    (
        "*/0 8 * * *",
        "minute step in `*/0` must be a whole number from 1 to 59",
    ),
    (
        "0 17-9 * * *",
        "hour range `17-9` runs backwards: write the earlier value first",
    ),
    ("0 8 1,,15 * *", "day of month `1,,15` has an empty item between commas"),
    (
        "0 8 * * *  *",
        "has 6 fields; write 5 (minute hour day-of-month month day-of-week, e.g. \"0 8 * * 1-5\"): there is no seconds or year field",
    ),
];

#[test]
fn every_cron_problem_is_one_line_naming_the_field_and_its_range() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    for (i, (cron, _)) in BAD_CRONS.iter().enumerate() {
        std::fs::write(
            workflows.join(format!("bad-{i}.toml")),
            format!("name = \"Bad {i}\"\nprompt = \"p\"\n\n[schedule]\ncron = \"{cron}\"\n"),
        )
        .unwrap();
    }
    let config = write_config(dir.path(), "[scheduler]\nworkflows_dir = \"workflows\"\n");
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    for (i, (cron, said)) in BAD_CRONS.iter().enumerate() {
        let shown = cron.split_whitespace().collect::<Vec<_>>().join(" ");
        let start = format!("workflows/bad-{i}.toml:5: cron `{shown}`");
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no line starts {start:?} in\n{stdout}"));
        assert!(line.contains(said), "{line:?} should say {said:?}");
    }
    assert!(
        stdout.ends_with(&format!("{} problem(s) found.\n", BAD_CRONS.len())),
        "{stdout}"
    );
    assert!(!stdout.contains("must be less than"), "{stdout}");
    assert_one_line_each(&stdout, &["workflows/bad-"]);
}

#[cfg(unix)]
#[test]
fn a_reload_refused_for_a_bad_cron_logs_one_line_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    let task = workflows.join("morning.toml");
    std::fs::write(
        &task,
        "name = \"Morning\"\nprompt = \"p\"\n\n[schedule]\ncron = \"0 8 * * *\"\n",
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[scheduler]\nworkflows_dir = \"workflows\"\n",
    );
    let (mut child, lines) = start_run(&config, dir.path());
    read_until(&mut child, &lines, &["fanops is ready"]);
    std::fs::write(
        &task,
        "name = \"Morning\"\nprompt = \"p\"\n\n[schedule]\ncron = \"60 8 * * *\"\n",
    )
    .unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let seen = read_until(&mut child, &lines, &["workflow files not reloaded"]);
    let _ = child.kill();
    child.wait().unwrap();
    let problem = "workflows/morning.toml:5: cron `60 8 * * *`: minute 60 is out of range 0–59";
    assert!(
        seen.iter()
            .any(|l| l.contains(problem) && l.ends_with("0–59")),
        "the whole problem on one line: {seen:#?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("must be less than")),
        "{seen:#?}"
    );
}

#[cfg(feature = "telegram")]
#[tokio::test]
async fn a_task_asked_for_in_chat_with_a_bad_cron_is_told_the_field_in_one_line() {
    use crate::helpers::tool_messages;
    use crate::support::Reply;
    let (tg, model, api, dir) = crate::scheduler::fakes().await;
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let app =
        crate::scheduler::app_from(crate::tasks_from_chat::config(&tg, &model, &api, &db)).await;
    model.push_all([
        Reply::tool(
            "create_task",
            serde_json::json!({
                "name": "Morning",
                "prompt": "Summarise yesterday.",
                "schedule": {"cron": "60 8 * * *"},
                "timezone": "Europe/London"
            }),
        ),
        Reply::text("That time does not exist."),
    ]);
    let body = fanops::core::InboundBody::Text("every day at minute 60 of 8am".into());
    let reply = crate::helpers::send_to(&app, "3", "100", body).await.last();
    assert_eq!(reply.text, "That time does not exist.");
    let result = tool_messages(&model.last_request().unwrap())
        .pop()
        .expect("a tool result");
    assert!(
        result.contains("cron `60 8 * * *`: minute 60 is out of range 0–59"),
        "{result}"
    );
    assert!(
        !result.contains('\n') && !result.contains("must be less than"),
        "{result}"
    );
}

/// The ```toml blocks of README.md's "Workflow files" section.
fn readme_workflows() -> Vec<String> {
    let readme = include_str!("../../README.md");
    let start = readme.find("\n## Workflow files\n").expect("the section");
    let section = &readme[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    section
        .split("```toml\n")
        .skip(1)
        .map(|block| block[..block.find("```").unwrap()].to_string())
        .collect()
}

#[test]
fn the_readme_is_enough_to_write_a_workflow_file() {
    let blocks = readme_workflows();
    assert!(
        blocks.len() >= 2,
        "the least a file needs, and every key: {blocks:#?}"
    );
    assert!(
        !blocks[0].contains("category"),
        "the first example is the least a file needs:\n{}",
        blocks[0]
    );
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    for (i, block) in blocks.iter().enumerate() {
        std::fs::write(workflows.join(format!("readme-{i}.toml")), block).unwrap();
    }
    // As a person would: the default config with a chat platform, then `fanops check`.
    let config = dir.path().join("fanops.toml");
    std::fs::write(&config, "[channels.telegram]\npermitted_users = [1]\n").unwrap();
    let (code, stdout) = check(&config, dir.path());
    assert_eq!(code, Some(0), "{stdout}");

    // And loaded by the real loader: active tasks, the least one filed under "Other".
    let config = Config::load_with_env(
        ConfigSource::Explicit(config),
        &|_| None,
        &fanops::channels::configs(),
    )
    .unwrap();
    let known = workflow::Known::for_config(&config);
    let (loaded, problems) = workflow::load_all(Some(&workflows), &known);
    assert!(problems.is_empty(), "{problems:#?}");
    let least = loaded.iter().find(|w| w.id == "readme-0").unwrap();
    assert_eq!(least.category, "Other");
    assert!(!least.is_template(), "it delivers: an active task");
    assert!(loaded
        .iter()
        .any(|w| w.id == "readme-1" && w.category == "Reports"));
}
