//! Voice messages, screenshots and files attached on Discord, end to end: the fake CDN
//! serves them at signed URLs, the fake model transcribes and answers.

use super::harness::{discord_app, discord_config, serve, ADMIN, OPERATOR};
use super::WAIT;
use crate::support::{
    png, seeing, wav, Attached, FakeDiscord, FakeModel, FakeOnlyFans, Reply, GENERAL,
};
use tokio_util::sync::CancellationToken;

struct Running {
    dc: FakeDiscord,
    model: FakeModel,
    db: String,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn running(vision: bool, discord: &str, extra: &str) -> Running {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let mut text = discord_config(&dc, &model, &api, &db, discord, extra);
    if vision {
        text = seeing(&text);
    }
    let (app, _clock) = discord_app(text).await;
    let (shutdown, server) = serve(app).await;
    assert!(dc.wait_for(|dc| dc.connected(), WAIT).await);
    Running {
        dc,
        model,
        db,
        shutdown,
        server,
        _dir: dir,
    }
}

impl Running {
    async fn said(&self, channel: u64, needle: &str) -> String {
        let found = self.dc.wait_text(channel, needle, WAIT).await;
        let texts = self.dc.texts_in(channel);
        assert!(found, "`{needle}` reaches {channel}: {texts:?}");
        texts.into_iter().find(|t| t.contains(needle)).unwrap()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_voice_message_is_transcribed_from_the_cdn_and_metered_by_its_length() {
    let r = running(false, "", crate::support::TRANSCRIPTION).await;
    r.model.hear("How many new subscribers today?");
    r.model
        .push(Reply::text("You gained 14 subscribers today."));
    let audio = wav(1.5);
    let voice = Attached {
        bytes: &audio,
        filename: "voice-message.ogg",
        content_type: "audio/ogg",
        seconds: Some(12.0),
    };
    let thread = r.dc.mention_with(GENERAL, OPERATOR, "", &[voice]);
    let answer = r.said(thread, "14 subscribers").await;
    assert!(
        answer.starts_with("🎙️ Heard: “How many new subscribers today?”"),
        "{answer}"
    );
    assert_eq!(r.dc.cdn_downloads(), 1);
    let sent = r.model.transcriptions();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].bytes, audio);
    let kinds = crate::helpers::usage_by_kind(&r.db).await;
    let usd = kinds
        .iter()
        .find(|k| k.0 == "transcription")
        .unwrap_or_else(|| panic!("{kinds:?}"))
        .2;
    // Discord's duration_secs (12 s) at $0.006 a minute.
    assert!((usd - 0.0012).abs() < 1e-12, "{usd}");
    r.stop().await;
}

#[tokio::test]
async fn a_screenshot_reaches_a_vision_model_as_an_image_part() {
    let r = running(true, "", "").await;
    r.model
        .push(Reply::text("The chart shows a dip on Tuesday."));
    let image = png();
    let shot = Attached {
        bytes: &image,
        filename: "chart.png",
        content_type: "image/png",
        seconds: None,
    };
    let thread =
        r.dc.mention_with(GENERAL, ADMIN, "what happened here?", &[shot]);
    r.said(thread, "dip on Tuesday").await;
    let request = r.model.last_request().unwrap();
    let parts = crate::helpers::user_parts(&request);
    assert_eq!(parts[1]["type"], "image_url", "{parts:?}");

    r.stop().await;
}

#[tokio::test]
async fn without_transcription_a_voice_message_is_told_voice_is_not_set_up() {
    let r = running(false, "", "").await;
    let audio = wav(1.0);
    let voice = Attached {
        bytes: &audio,
        filename: "voice-message.ogg",
        content_type: "audio/ogg",
        seconds: Some(1.0),
    };
    let thread = r.dc.mention_with(GENERAL, OPERATOR, "", &[voice]);
    let said = r.said(thread, "voice").await;
    assert!(said.contains("not set up"), "{said}");
    assert_eq!(r.dc.cdn_downloads(), 0);
    assert_eq!(r.model.request_count(), 0);
    r.stop().await;
}

#[tokio::test]
async fn a_strangers_voice_message_is_never_fetched_and_costs_nothing() {
    let locked = "allow_everyone = false\npermitted_members = [\"222\", \"333\"]";
    let r = running(false, locked, crate::support::TRANSCRIPTION).await;
    let audio = wav(1.0);
    let voice = Attached {
        bytes: &audio,
        filename: "voice-message.ogg",
        content_type: "audio/ogg",
        seconds: Some(1.0),
    };
    r.dc.mention_with(GENERAL, 999, "", &[voice]);
    r.said(GENERAL, "not allowed").await;
    assert_eq!(r.dc.cdn_downloads(), 0, "never fetched");
    assert!(r.model.transcriptions().is_empty());
    assert_eq!(r.model.request_count(), 0);
    r.stop().await;
}
