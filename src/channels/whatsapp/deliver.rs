//! Unattended posts (scheduled posts, alerts, access requests) and the statuses Meta
//! reports for what fanops sent.
//!
//! WhatsApp lets a business write freely only to a number that wrote in the last 24
//! hours. Outside that window a scheduled post goes out as the approved
//! `digest_template` with its text as the parameter, or is refused as `outside
//! WhatsApp's 24-hour window` so the run reads `not delivered: …`, never lost in silence.
//! A notice (an access request) has no template: outside the window it is refused with
//! that reason, logged, and the request waits in `/team`.

use super::reply::Parts;
use super::webhook::Status;
use super::{reply, WhatsApp};
use crate::channels::buttons;
use crate::channels::outbox::SendFailure;
use crate::chat::{Attachment, Delivery, DeliveryFailure, Outbound, Recipient, RunPost};
use std::sync::Mutex;

/// What a post outside the window reads as.
pub const OUTSIDE_WINDOW: &str = "outside WhatsApp's 24-hour window";

fn failed(posted: usize, failure: SendFailure) -> DeliveryFailure {
    DeliveryFailure {
        posted,
        retry: matches!(failure, SendFailure::Later(_)),
        message: failure.message().to_string(),
    }
}

/// A WhatsApp id as a post names it: digits, a leading `+` allowed.
fn number_of(to: &str) -> Result<&str, DeliveryFailure> {
    let number = to.trim().trim_start_matches('+');
    match super::section::is_wa_id(number) {
        true => Ok(number),
        false => Err(DeliveryFailure {
            posted: 0,
            retry: false,
            message: format!(
                "`{}` is not a WhatsApp number (international form, digits only)",
                to.trim()
            ),
        }),
    }
}

/// How far a status has gone: a late `sent` never replaces `read`.
fn rank(status: &str) -> u8 {
    match status {
        "sent" => 1,
        "delivered" => 2,
        "read" => 3,
        "failed" => 4,
        _ => 0,
    }
}

impl WhatsApp {
    /// The store key of the delivery state of message `id`.
    fn status_key(&self, id: &str) -> String {
        self.connection.key(&format!("status.{id}"))
    }

    /// The delivery state Meta last reported for message `id`: `sent`, `delivered`,
    /// `read`, or `failed: <reason>`.
    pub(super) async fn delivery_state(&self, id: &str) -> Option<String> {
        self.store.state(&self.status_key(id)).await.ok()?
    }

    /// Records a status webhook as the message's delivery state.
    pub(super) async fn record_status(&self, status: &Status) {
        if rank(&status.status) == 0 {
            return;
        }
        let known = self.delivery_state(&status.id).await;
        let was = known.as_deref().map(|s| s.split(':').next().unwrap_or(s));
        if was.is_some_and(|was| rank(was) >= rank(&status.status)) {
            return;
        }
        let state = match (&status.error, status.status.as_str()) {
            (Some(error), "failed") => format!("failed: {error}"),
            (None, "failed") => "failed: WhatsApp gave no reason".to_string(),
            (_, other) => other.to_string(),
        };
        if status.status == "failed" {
            tracing::warn!(connection = %self.name, message = %status.id, to = %status.recipient, state = %state, "WhatsApp could not deliver a message");
            self.run_not_delivered(&status.id, &state).await;
        }
        let key = self.status_key(&status.id);
        if let Err(e) = self.store.set_state(&key, &state).await {
            tracing::warn!(error = %e, "could not record a WhatsApp message status");
        }
    }

    /// The store key of the scheduled run message `id` was part of.
    fn post_key(&self, id: &str) -> String {
        self.connection.key(&format!("post.{id}"))
    }

    /// Remembers that messages `ids` were `run`'s post, for their statuses.
    async fn kept_for(&self, run: Option<&RunPost>, ids: &Mutex<Vec<String>>) {
        let Some(run) = run else { return };
        let ids = std::mem::take(&mut *ids.lock().unwrap_or_else(|e| e.into_inner()));
        let facts: Vec<(String, String)> = ids
            .iter()
            .map(|id| {
                let post = serde_json::json!({"task": run.task, "fire": run.fire.to_rfc3339()});
                (self.post_key(id), post.to_string())
            })
            .collect();
        if let Err(e) = self.store.set_states(&facts).await {
            tracing::warn!(error = %e, "could not keep which run a WhatsApp message belongs to");
        }
    }

    /// A message of a scheduled run's post failed after all: the run reads `not
    /// delivered: WhatsApp could not deliver it: <reason>`.
    async fn run_not_delivered(&self, id: &str, state: &str) {
        let Ok(Some(post)) = self.store.state(&self.post_key(id)).await else {
            return;
        };
        let Ok(post) = serde_json::from_str::<serde_json::Value>(&post) else {
            return;
        };
        let fire = post["fire"]
            .as_str()
            .and_then(|f| chrono::DateTime::parse_from_rfc3339(f).ok());
        let (Some(task), Some(fire)) = (post["task"].as_str(), fire) else {
            return;
        };
        let reason = state.strip_prefix("failed: ").unwrap_or(state);
        let error = format!("WhatsApp could not deliver it: {reason}");
        let recorded = self
            .store
            .record_delivery(task, fire.to_utc(), self.clock.now(), Some(&error), None)
            .await;
        if let Err(e) = recorded {
            tracing::error!(task, error = %e, "could not record that a WhatsApp post failed");
        }
    }

    /// A post to `to`, kept for `run` when it is a scheduled run's.
    async fn post(
        &self,
        run: Option<&RunPost>,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        let number = number_of(to).map_err(|e| DeliveryFailure { posted: skip, ..e })?;
        let sent = Mutex::default();
        let outcome = self.post_to(number, text, files, skip, &sent).await;
        self.kept_for(run, &sent).await;
        outcome
    }

    /// Inside the window as messages, outside it as the template.
    async fn post_to(
        &self,
        number: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
        sent: &Mutex<Vec<String>>,
    ) -> Result<(), DeliveryFailure> {
        if !self.in_window(number).await {
            return self.outside_window(number, text, files, skip, sent).await;
        }
        let parts = Parts {
            markdown: text,
            buttons: &[],
            files,
        };
        match reply::send_all(&self.graph, number, parts, skip, sent).await {
            Ok(()) => Ok(()),
            // WhatsApp's clock says the window closed before ours did.
            Err((0, SendFailure::Refused(reason))) if reason.contains(OUTSIDE_WINDOW) => {
                self.outside_window(number, text, files, 0, sent).await
            }
            Err((posted, failure)) => Err(failed(posted, failure)),
        }
    }

    /// A post to a number outside the window: the template, if one is configured, else a
    /// refusal naming the window.
    async fn outside_window(
        &self,
        number: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
        sent: &Mutex<Vec<String>>,
    ) -> Result<(), DeliveryFailure> {
        let refused = |posted| DeliveryFailure {
            posted,
            retry: false,
            message: OUTSIDE_WINDOW.to_string(),
        };
        let Some(template) = &self.config.digest_template else {
            return Err(refused(skip));
        };
        if skip == 0 {
            let language = &self.config.digest_template_language;
            let message = reply::template(template, language, text);
            let id = self
                .graph
                .send(number, message)
                .await
                .map_err(|f| failed(0, f))?;
            sent.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        }
        // A template carries text only: files wait for the number to write again.
        match files.is_empty() {
            true => Ok(()),
            false => Err(DeliveryFailure {
                message: format!(
                    "{OUTSIDE_WINDOW}: the text went as template `{template}`, the files could not"
                ),
                ..refused(1)
            }),
        }
    }
}

#[async_trait::async_trait]
impl Delivery for WhatsApp {
    /// Posts to a number (its `wa_id`): as messages inside the 24-hour window, as the
    /// template outside it.
    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        self.post(None, to, text, files, skip).await
    }

    /// [`Delivery::deliver`], keeping which run each message was, so that a `failed`
    /// status later reads on the run as `not delivered: …`.
    async fn deliver_run(
        &self,
        run: &RunPost,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        self.post(Some(run), to, text, files, skip).await
    }

    /// A person (or a chat, which on WhatsApp is a person too) gets it with its buttons,
    /// if they wrote in the last 24 hours.
    async fn notify(&self, to: Recipient<'_>, out: &Outbound) -> Result<(), DeliveryFailure> {
        let (Recipient::Person(id) | Recipient::Chat(id)) = to;
        let number = number_of(id)?;
        if !self.in_window(number).await {
            return Err(DeliveryFailure {
                posted: 0,
                retry: false,
                message: format!(
                    "{OUTSIDE_WINDOW}: {number} has not written to the bot in the last 24 hours"
                ),
            });
        }
        let buttons = buttons::of(out);
        let parts = Parts {
            markdown: &out.text,
            buttons: &buttons,
            files: &out.attachments,
        };
        reply::send_all(&self.graph, number, parts, 0, &Mutex::default())
            .await
            .map_err(|(posted, failure)| failed(posted, failure))
    }
}
