//! Unattended posts (scheduled posts, alerts, access requests) and the statuses Meta
//! reports for what fanops sent.
//!
//! WhatsApp lets a business write freely only to a number that wrote in the last 24
//! hours. Outside that window a scheduled post goes out as the approved
//! `digest_template` with its text as the parameter, or is refused as `outside
//! WhatsApp's 24-hour window` so the run reads `not delivered: …`, never lost in silence.
//! A notice (an access request) has no template: outside the window it is refused with
//! that reason, logged, and the request waits in `/team`.

use super::webhook::Status;
use super::{reply, WhatsApp};
use crate::channels::buttons;
use crate::channels::outbox::SendFailure;
use crate::chat::{Attachment, Delivery, DeliveryFailure, Outbound, Recipient};

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
        }
        let key = self.status_key(&status.id);
        if let Err(e) = self.store.set_state(&key, &state).await {
            tracing::warn!(error = %e, "could not record a WhatsApp message status");
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
            self.graph
                .send(number, message)
                .await
                .map_err(|f| failed(0, f))?;
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
        let number = number_of(to).map_err(|e| DeliveryFailure { posted: skip, ..e })?;
        if !self.in_window(number).await {
            return self.outside_window(number, text, files, skip).await;
        }
        match reply::send_all(&self.graph, number, text, &[], files, skip).await {
            Ok(()) => Ok(()),
            // WhatsApp's clock says the window closed before ours did.
            Err((0, SendFailure::Refused(reason))) if reason.contains(OUTSIDE_WINDOW) => {
                self.outside_window(number, text, files, 0).await
            }
            Err((posted, failure)) => Err(failed(posted, failure)),
        }
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
        reply::send_all(
            &self.graph,
            number,
            &out.text,
            &buttons,
            &out.attachments,
            0,
        )
        .await
        .map_err(|(posted, failure)| failed(posted, failure))
    }
}
