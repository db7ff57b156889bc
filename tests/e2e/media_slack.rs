//! Audio clips, screenshots and CSVs shared with the bot on Slack, end to end: the fake
//! Slack hosts the files (the bot token needed, its sign-in page otherwise), the fake
//! model transcribes and answers, and what crossed each wire is asserted.

use crate::slack::{ts, DM, OPERATOR, WAIT};
use crate::support::{
    file_share_event, png, seeing, wav, FakeModel, FakeOnlyFans, FakeSlack, Reply,
};
use tokio_util::sync::CancellationToken;

struct Running {
    slack: FakeSlack,
    model: FakeModel,
    db: String,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn running(vision: bool, extra: &str) -> Running {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let mut text = crate::slack::config(&slack, &model, &api, &db, &format!("\n{extra}"));
    if vision {
        text = seeing(&text);
    }
    let (app, _clock) = crate::helpers::build_app("slack-media.toml", text, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Running {
        slack,
        model,
        db,
        shutdown,
        server,
        _dir: dir,
    }
}

impl Running {
    async fn said(&self, channel: &str, needle: &str) -> String {
        let found = self.slack.wait_text(channel, needle, WAIT).await;
        let texts = self.slack.texts(channel);
        assert!(found, "`{needle}` reaches {channel}: {texts:?}");
        texts.into_iter().find(|t| t.contains(needle)).unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn an_audio_clip_is_downloaded_with_the_bot_token_transcribed_and_answered() {
    let r = running(false, crate::support::TRANSCRIPTION).await;
    r.model.hear("Who are my top fans this month?");
    r.model.push(Reply::text("Your top fan is Jake with $420."));
    let audio = wav(2.0);
    let file = r.slack.host_file(&audio, "audio_message.wav", "audio/wav");
    r.slack
        .push_event(file_share_event(OPERATOR, DM, "", &ts(1), vec![file]));
    let answer = r.said(DM, "Jake with $420").await;
    assert!(
        answer.starts_with("🎙️ Heard: “Who are my top fans this month?”"),
        "{answer}"
    );
    let downloads = r.slack.downloads();
    assert_eq!(downloads.len(), 1);
    assert_eq!(
        downloads[0].token, "xoxb-test-token",
        "the bot token as bearer"
    );
    let sent = r.model.transcriptions();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].bytes, audio);
    assert_eq!(sent[0].file_name, "audio_message.wav");
    assert_eq!(
        crate::support::last_user_text(&r.model.last_request().unwrap()),
        "Who are my top fans this month?"
    );
    let kinds = crate::helpers::usage_by_kind(&r.db).await;
    let row = kinds.iter().find(|k| k.0 == "transcription");
    // Slack gives no length: the WAV's header says 2 s.
    let usd = row.unwrap_or_else(|| panic!("{kinds:?}")).2;
    assert!((usd - 2.0 / 60.0 * 0.006).abs() < 1e-12, "{usd}");
    r.stop().await;
}

#[tokio::test]
async fn a_screenshot_reaches_a_vision_model_and_a_stranger_s_file_is_never_fetched() {
    let r = running(true, "").await;
    r.model.push(Reply::text("It shows 312 new subscribers."));
    let image = png();
    let file = r.slack.host_file(&image, "stats.png", "image/png");
    r.slack.push_event(file_share_event(
        OPERATOR,
        DM,
        "what does this say?",
        &ts(2),
        vec![file],
    ));
    r.said(DM, "312 new subscribers").await;
    let request = r.model.last_request().unwrap();
    let parts = crate::helpers::user_parts(&request);
    assert_eq!(
        parts[0]["text"].as_str().unwrap().lines().next(),
        Some("what does this say?")
    );
    assert_eq!(parts[1]["type"], "image_url");

    let stranger_file = r.slack.host_file(&image, "theirs.png", "image/png");
    r.slack.push_event(file_share_event(
        "U9STRANGER",
        "D0STRANGER",
        "",
        &ts(3),
        vec![stranger_file],
    ));
    r.said("D0STRANGER", "not allowed").await;
    assert_eq!(
        r.slack.downloads().len(),
        1,
        "only the member's file was fetched"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_file_the_model_cannot_take_is_refused_in_words() {
    let r = running(false, "").await;
    let sheet = r.slack.host_file(
        b"PK\x03\x04",
        "june.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    );
    r.slack.push_event(file_share_event(
        OPERATOR,
        DM,
        "totals?",
        &ts(4),
        vec![sheet],
    ));
    let said = r.said(DM, "june.xlsx").await;
    assert!(said.contains("export it as CSV"), "{said}");
    assert!(r.slack.downloads().is_empty());
    assert_eq!(r.model.request_count(), 0);
    r.stop().await;
}
