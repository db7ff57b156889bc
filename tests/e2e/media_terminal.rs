//! `fanops chat` with `/attach`: a file on this machine goes through the same core as one
//! sent on a chat platform (a recording transcribed and quoted, a CSV read as data), and
//! a path that is not a file is told so without a model call.

use crate::helpers::fanops;
use crate::support::{config_text, wav, FakeModel, FakeOnlyFans, Reply, TRANSCRIPTION};
use std::io::Write;
use std::process::Stdio;

async fn chat(model: &FakeModel, dir: &std::path::Path, lines: &str) -> String {
    let api = FakeOnlyFans::start().await;
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    let config = dir.join("fanops.toml");
    std::fs::write(
        &config,
        config_text(&model.url(), &api.url(), &db, TRANSCRIPTION),
    )
    .unwrap();
    let mut child = fanops(&["chat"], &config, dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn attached_files_go_through_the_core_as_on_a_chat_platform() {
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("note.wav"), wav(2.0)).unwrap();
    std::fs::write(dir.path().join("sales.csv"), "creator,net\nLuna,1500\n").unwrap();
    model.hear("What did Luna make?");
    model.push(Reply::text("Luna made $1,500."));
    model.push(Reply::text("Luna leads the sheet."));
    let out = chat(
        &model,
        dir.path(),
        "/attach note.wav\n/attach sales.csv who leads?\n/attach missing.csv\n/quit\n",
    )
    .await;
    assert!(out.contains("🎙️ Heard: “What did Luna make?”"), "{out}");
    assert!(out.contains("Luna made $1,500."), "{out}");
    assert!(out.contains("Luna leads the sheet."), "{out}");
    assert!(out.contains("There is no file at missing.csv"), "{out}");
    assert_eq!(model.transcriptions().len(), 1);
    assert_eq!(model.transcriptions()[0].file_name, "note.wav");
    let requests = model.requests();
    assert_eq!(requests.len(), 2, "no model call for the missing file");
    let csv_question = crate::support::last_user_text(&requests[1]);
    assert!(csv_question.starts_with("who leads?"), "{csv_question}");
    assert!(
        csv_question.contains("creator,net\nLuna,1500"),
        "{csv_question}"
    );
}
