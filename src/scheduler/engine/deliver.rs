//! Posting a run's answer to its destination, and recording where the post stands.

use super::*;

impl Scheduler {
    pub(super) async fn deliver(
        &self,
        task: &Workflow,
        fire: DateTime<Utc>,
        status: RunStatus,
        text: &str,
        files: &[Attachment],
        retries: bool,
    ) {
        let body = match status {
            RunStatus::Succeeded => format!("**{}**\n\n{text}", task.name),
            _ => format!("**{}** did not complete.\n\n{text}", task.name),
        };
        self.post(task, fire, body, files, retries).await
    }

    /// Posts `body` for one fire to the task's destination, recording the delivery and
    /// keeping a retry of a part the platform certainly did not take.
    pub(super) async fn post(
        &self,
        task: &Workflow,
        fire: DateTime<Utc>,
        body: String,
        files: &[Attachment],
        retries: bool,
    ) {
        let Some(deliver) = &task.deliver else { return };
        let Some(channel) = self.deliveries.get(&deliver.channel) else {
            let error = format!("the {} channel is not running", deliver.channel);
            self.record_delivery(&task.id, fire, Some(&error), None)
                .await;
            return;
        };
        // The first try is now; a part the platform certainly did not take is sent again
        // later from the store (see `retry.rs`), never a part it may have taken.
        let run = crate::chat::RunPost {
            task: task.id.clone(),
            fire,
        };
        let failure = match channel
            .deliver_run(&run, &deliver.to, &body, files, 0)
            .await
        {
            Ok(()) => {
                self.record_delivery(&task.id, fire, None, None).await;
                return;
            }
            Err(failure) => failure,
        };
        let error = failure.message.clone();
        let mut retry = None;
        if retries && failure.retry {
            let wait = self.retry_wait(0);
            let queued = QueuedDelivery {
                task: task.id.clone(),
                scheduled_for: fire,
                channel: deliver.channel.clone(),
                recipient: deliver.to.clone(),
                body,
                files: crate::chat::encode_attachments(files),
                posted: u32::try_from(failure.posted).unwrap_or(u32::MAX),
                attempt: 0,
                next_at: Utc::now() + Duration::from_std(wait).unwrap_or_default(),
            };
            match self.store.queue_retry(&queued).await {
                Ok(()) => retry = Some(1),
                Err(e) => {
                    tracing::error!(task = %task.id, error = %e, "could not keep a delivery retry")
                }
            }
        }
        match retry {
            Some(_) => {
                tracing::warn!(task = %task.id, %error, wait = %humantime::format_duration(self.retry_wait(0)), "delivery failed; sending again later")
            }
            None => tracing::warn!(task = %task.id, %error, "delivery failed"),
        }
        self.record_delivery(&task.id, fire, Some(&error), retry)
            .await;
    }

    /// The wait before re-send number `attempt + 1`: `[scheduler] delivery_retry`, doubling.
    pub(in crate::scheduler) fn retry_wait(&self, attempt: u32) -> std::time::Duration {
        self.delivery_retry
            .saturating_mul(2u32.saturating_pow(attempt))
    }

    /// The platform a post goes to, when this process runs it.
    pub(in crate::scheduler) fn delivery(&self, channel: &str) -> Option<Arc<dyn Delivery>> {
        self.deliveries.get(channel)
    }

    /// Records how a fire's post went: delivered (no error), refused for good, or refused
    /// for now with retry number `retry` waiting.
    pub(in crate::scheduler) async fn record_delivery(
        &self,
        task: &str,
        fire: DateTime<Utc>,
        error: Option<&str>,
        retry: Option<u32>,
    ) {
        if let Err(e) = self
            .store
            .record_delivery(task, fire, Utc::now(), error, retry)
            .await
        {
            tracing::error!(task, error = %e, "could not record a delivery");
        }
    }
}
