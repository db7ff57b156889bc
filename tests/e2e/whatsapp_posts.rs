//! WhatsApp posts nobody asked for in that moment: scheduled digests inside and outside
//! the 24-hour window, the statuses Meta reports for what was sent, rate limits waited
//! out, and files through the media endpoint.

use crate::support::{wa_status, Reply, WaFailure};
use crate::whatsapp::{running, running_with, Running, OPERATOR, VIEWER};
use fanops::chat::{Attachment, AttachmentKind};
use std::time::Duration;
const DIGEST: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "whatsapp"
to = "NUMBER"
"#;

/// A workflows folder with the digest posted to `number`.
fn digest_to(number: &'static str) -> impl Fn(&std::path::Path) -> String {
    move |dir| {
        let workflows = dir.join("workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(
            workflows.join("morning-digest.toml"),
            DIGEST.replace("NUMBER", number),
        )
        .unwrap();
        format!("[scheduler]\nworkflows_dir = \"{}\"\n", workflows.display())
    }
}

impl Running {
    /// Fires the digest of the day `days` after the clock's today (a day the serving
    /// scheduler has not reached) and reads how its run ended.
    async fn fire_digest(&self, days: i64) -> String {
        let day = (self.clock.now() + chrono::Duration::days(days)).date_naive();
        let at = |h, m, s| day.and_hms_opt(h, m, s).unwrap().and_utc();
        self.scheduler.tick(at(7, 0, 0)).await.unwrap();
        let tick = self.scheduler.tick(at(8, 0, 5)).await.unwrap();
        assert_eq!(tick.started.len(), 1, "{:?}", tick.missed);
        for (_, _, handle) in tick.started {
            handle.await.unwrap();
        }
        let runs = self.store.recent_runs("morning-digest", 1).await.unwrap();
        runs[0].outcome()
    }
}

#[tokio::test]
async fn a_scheduled_post_inside_the_window_is_text_and_outside_it_the_template() {
    let r = running_with("digest_template = \"morning_digest\"", digest_to(OPERATOR)).await;
    r.model
        .respond_with(|_| Reply::text("Yesterday: **$1,912.40** net."));
    r.say(OPERATOR, "wamid.O1", "hi").await;
    assert!(r.wait_text(OPERATOR, "1,912.40").await);
    let answered = r.wa.messages_to(OPERATOR).len();
    assert_eq!(r.fire_digest(1).await, "succeeded");
    let posted = r.wa.messages_to(OPERATOR);
    assert_eq!(posted.len(), answered + 1);
    assert_eq!(posted[answered]["type"], "text");
    assert_eq!(
        posted[answered]["text"]["body"],
        "*Morning digest*\n\nYesterday: *$1,912.40* net."
    );

    // Thirty hours on, the operator has not written again: the approved template.
    r.clock.advance(Duration::from_secs(30 * 3600));
    assert_eq!(r.fire_digest(2).await, "succeeded");
    let template = r.wa.messages_to(OPERATOR).pop().unwrap();
    assert_eq!(template["type"], "template");
    assert_eq!(template["template"]["name"], "morning_digest");
    assert_eq!(template["template"]["language"]["code"], "en_US");
    assert_eq!(
        template["template"]["components"][0]["parameters"][0]["text"],
        "*Morning digest* Yesterday: *$1,912.40* net.",
        "one line, as a template parameter must be"
    );
    r.stop().await;
}

#[tokio::test]
async fn without_a_template_a_post_outside_the_window_is_recorded_not_delivered() {
    let r = running_with("", digest_to(VIEWER)).await;
    r.model
        .respond_with(|_| Reply::text("Yesterday: $1,912.40 net."));
    assert_eq!(
        r.fire_digest(1).await,
        "not delivered: outside WhatsApp's 24-hour window"
    );
    assert!(
        r.wa.messages().is_empty(),
        "nothing WhatsApp would refuse is sent"
    );
    r.stop().await;
}

#[tokio::test]
async fn statuses_are_recorded_as_each_message_s_delivery_state() {
    let r = running("").await;
    r.model.push(Reply::Text("an answer".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(r.wait_text(OPERATOR, "an answer").await);
    let id = r.wa.messages_to(OPERATOR)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = |id: String| {
        let store = r.store.clone();
        async move { store.state(&format!("whatsapp.status.{id}")).await.unwrap() }
    };
    for status in ["sent", "delivered", "read", "delivered"] {
        r.deliver(wa_status(&id, OPERATOR, status, None)).await;
    }
    assert_eq!(
        state(id.clone()).await.as_deref(),
        Some("read"),
        "a late status never goes back"
    );
    r.deliver(wa_status(
        "wamid.OTHER",
        OPERATOR,
        "failed",
        Some((131026, "Message undeliverable")),
    ))
    .await;
    assert_eq!(
        state("wamid.OTHER".into()).await.as_deref(),
        Some("failed: Message undeliverable (code 131026)")
    );
    let forged = wa_status("wamid.FORGED", OPERATOR, "read", None);
    assert_eq!(r.post(&forged, Some("sha256=00")).await.status(), 401);
    assert_eq!(state("wamid.FORGED".into()).await, None);
    r.stop().await;
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_the_answer_sent_once() {
    let r = running("").await;
    r.wa.fail_next(WaFailure::TooMany(1));
    r.wa.fail_next(WaFailure::PairRate);
    r.wa.fail_next(WaFailure::Throughput);
    r.model.push(Reply::Text("after the wait".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(
        r.wa.wait_text(OPERATOR, "after the wait", Duration::from_secs(20))
            .await
    );
    assert_eq!(
        r.wa.message_attempts(),
        4,
        "three refusals, then the answer"
    );
    assert_eq!(r.wa.texts_to(OPERATOR), ["after the wait"]);
    r.stop().await;
}

#[tokio::test]
async fn files_go_through_the_media_endpoint() {
    let r = running("").await;
    r.model.push(Reply::Text("ok".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(r.wait_text(OPERATOR, "ok").await);
    let png = Attachment {
        name: "net.png".into(),
        mime: "image/png",
        kind: AttachmentKind::Image,
        bytes: vec![0x89, b'P', b'N', b'G'],
    };
    let csv = Attachment {
        name: "fans.csv".into(),
        mime: "text/csv",
        kind: AttachmentKind::Document,
        bytes: b"fan,spent\nJake,12\n".to_vec(),
    };
    r.delivery()
        .deliver(OPERATOR, "Your chart", &[png, csv], 0)
        .await
        .unwrap();
    let uploads: Vec<_> =
        r.wa.calls()
            .into_iter()
            .filter(|c| c.endpoint == "media")
            .collect();
    assert_eq!(uploads.len(), 2);
    let raw = uploads[1].body["raw"].as_str().unwrap();
    assert!(
        raw.contains("fans.csv") && raw.contains("Jake,12") && raw.contains("whatsapp"),
        "{raw}"
    );
    assert_eq!(
        r.wa.texts_to(OPERATOR)[1..],
        ["Your chart", "[image]", "[document fans.csv]"]
    );
    let image = &r.wa.messages_to(OPERATOR)[2];
    assert!(image["image"]["id"].as_str().unwrap().starts_with("media-"));

    let nobody = r
        .delivery()
        .deliver("+44 7700", "x", &[], 0)
        .await
        .unwrap_err();
    assert!(
        nobody.message.contains("not a WhatsApp number"),
        "{nobody:?}"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_window_whatsapp_says_is_closed_falls_back_to_the_template() {
    let r = running("digest_template = \"morning_digest\"").await;
    r.model.push(Reply::Text("hi back".into()));
    r.say(OPERATOR, "wamid.O1", "hi").await;
    assert!(r.wait_text(OPERATOR, "hi back").await);
    // Our clock says the operator wrote just now; WhatsApp's says otherwise.
    r.wa.fail_next(WaFailure::OutsideWindow);
    r.delivery()
        .deliver(OPERATOR, "**Digest**: $5", &[], 0)
        .await
        .unwrap();
    let last = r.wa.messages_to(OPERATOR).pop().unwrap();
    assert_eq!(last["type"], "template", "{last}");
    assert_eq!(
        r.wa.message_attempts(),
        3,
        "the answer, the refused text, the template"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_post_whatsapp_later_reports_failed_reads_not_delivered() {
    let r = running_with("", digest_to(OPERATOR)).await;
    r.model
        .respond_with(|_| Reply::text("Yesterday: $1,912.40 net."));
    r.say(OPERATOR, "wamid.O1", "hi").await;
    assert!(r.wait_text(OPERATOR, "1,912.40").await);
    assert_eq!(r.fire_digest(1).await, "succeeded");
    let post = r.wa.messages_to(OPERATOR).pop().unwrap();
    let id = post["id"].as_str().unwrap();
    r.deliver(wa_status(id, OPERATOR, "sent", None)).await;
    // An answer in a chat is no run's post: its failure changes no run.
    let answer = r.wa.messages_to(OPERATOR)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    r.deliver(wa_status(&answer, OPERATOR, "failed", None))
        .await;
    let runs = r.store.recent_runs("morning-digest", 1).await.unwrap();
    assert_eq!(runs[0].outcome(), "succeeded", "sent is not yet a failure");
    r.deliver(wa_status(
        id,
        OPERATOR,
        "failed",
        Some((131026, "Message undeliverable")),
    ))
    .await;
    let runs = r.store.recent_runs("morning-digest", 1).await.unwrap();
    assert_eq!(
        runs[0].outcome(),
        "not delivered: WhatsApp could not deliver it: Message undeliverable (code 131026)"
    );
    r.stop().await;
}
