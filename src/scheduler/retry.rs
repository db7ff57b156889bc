//! Scheduled posts the platform certainly did not take are sent again later, from the
//! store: a restart neither loses them nor posts a part twice (`posted` parts are skipped).

use super::engine::{Scheduler, DELIVERY_RETRIES};
use crate::chat::decode_attachments;
use crate::store::{QueuedDelivery, StoreError};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

/// How long a taken retry is held before another process may try it (its taker died).
const HOLD: chrono::Duration = chrono::Duration::minutes(2);
/// Retries sent in one pass.
const PER_PASS: usize = 50;

impl Scheduler {
    /// Sends due retries until `shutdown`, looking every `[scheduler] delivery_retry`
    /// (at most every 5 s).
    pub(super) async fn retry_loop(self: std::sync::Arc<Self>, shutdown: CancellationToken) {
        let every = self.retry_wait(0).min(std::time::Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            if let Err(e) = self.retry_deliveries(Utc::now()).await {
                tracing::warn!(error = %e, "could not look for deliveries to send again");
            }
        }
    }

    /// Sends the retries due at `now` once each (a step the run loop calls every few
    /// seconds); returns how many were tried.
    pub async fn retry_deliveries(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let due = self
            .store()
            .take_due_retries(now, now + HOLD, PER_PASS)
            .await?;
        let tried = due.len();
        for queued in due {
            self.send_again(queued).await;
        }
        Ok(tried)
    }

    async fn send_again(&self, mut queued: QueuedDelivery) {
        let (task, fire) = (queued.task.clone(), queued.scheduled_for);
        let outcome = match (
            self.delivery(&queued.channel),
            decode_attachments(&queued.files),
        ) {
            (None, _) => Err((
                format!("the {} channel is not running", queued.channel),
                false,
            )),
            (_, Err(e)) => Err((format!("the stored attachments are unreadable: {e}"), false)),
            (Some(channel), Ok(files)) => {
                let skip = queued.posted as usize;
                let run = crate::chat::RunPost {
                    task: task.clone(),
                    fire,
                };
                channel
                    .deliver_run(&run, &queued.recipient, &queued.body, &files, skip)
                    .await
                    .map_err(|failure| {
                        queued.posted = u32::try_from(failure.posted).unwrap_or(u32::MAX);
                        (failure.message, failure.retry)
                    })
            }
        };
        match outcome {
            Ok(()) => {
                self.finish(&task, fire).await;
                self.record_delivery(&task, fire, None, None).await;
            }
            Err((message, retry)) if retry && queued.attempt < DELIVERY_RETRIES => {
                queued.attempt += 1;
                let wait = self.retry_wait(queued.attempt);
                queued.next_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(task = %task, error = %message, wait = %humantime::format_duration(wait), "delivery failed again; sending again later");
                let retry = match self.store().queue_retry(&queued).await {
                    Ok(()) => Some(queued.attempt + 1),
                    Err(e) => {
                        tracing::error!(task = %task, error = %e, "could not keep a delivery retry");
                        None
                    }
                };
                self.record_delivery(&task, fire, Some(&message), retry)
                    .await;
            }
            Err((message, _)) => {
                tracing::warn!(task = %task, error = %message, "delivery failed; giving up");
                self.finish(&task, fire).await;
                self.record_delivery(&task, fire, Some(&message), None)
                    .await;
            }
        }
    }

    async fn finish(&self, task: &str, fire: DateTime<Utc>) {
        if let Err(e) = self.store().finish_retry(task, fire).await {
            tracing::error!(task, error = %e, "could not forget a delivery retry");
        }
    }
}
