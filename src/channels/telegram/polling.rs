//! Long polling: one process per bot token polls (Telegram refuses a second poller), the
//! others stand by and take over when the poller dies or stops. Each poll is held open
//! by Telegram for `poll_timeout` seconds when there is nothing to deliver.

use super::Telegram;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Update};
use tokio_util::sync::CancellationToken;

/// A poll still open after this long is being held by Telegram: the connection works.
const POLL_HELD_AFTER: Duration = Duration::from_secs(1);

type PollOutcome = Result<Result<Vec<Update>, teloxide::RequestError>, tokio::time::error::Elapsed>;

impl Telegram {
    /// Polls while this process holds the polling lease, standing by while another does,
    /// until `shutdown`; then lets the lease go so a standby takes over at once.
    pub(super) async fn poll(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        if let Err(e) = self.bot.delete_webhook().await {
            tracing::warn!(error = %e, "could not delete a Telegram webhook before polling");
        }
        let lease = self.runtime.lease.clone();
        loop {
            let standby = |holder: Result<&str, String>| match holder {
                Ok(holder) => self
                    .health
                    .ok(&self.name, &format!("standby: polling is held by {holder}")),
                Err(e) => self.health.failing(&self.name, &e),
            };
            if !lease.wait_to_hold(&shutdown, standby).await {
                return Ok(());
            }
            tracing::info!(owner = lease.owner(), "this process polls Telegram");
            let (done, lost) = (CancellationToken::new(), shutdown.child_token());
            let keeper = tokio::spawn(lease.clone().keep(done.clone(), lost.clone()));
            let polled = self.poll_while_holding(&lost).await;
            done.cancel();
            let _ = keeper.await;
            if shutdown.is_cancelled() || polled.is_err() {
                lease.release().await;
                return polled;
            }
            tracing::warn!("lost the Telegram polling lease; standing by");
        }
    }

    /// The polling loop proper, from the stored offset, until `stop`.
    async fn poll_while_holding(self: &Arc<Self>, stop: &CancellationToken) -> anyhow::Result<()> {
        let mut offset: i32 = match self.store.state(&self.offset_state).await? {
            Some(v) => v.parse().unwrap_or(0),
            None => 0,
        };
        let holding = format!("polling (holds it as {})", self.runtime.lease.owner());
        let mut delay = Duration::from_secs(1);
        // The first poll asks Telegram not to hold it: its answer proves the connection
        // at once (and picks up what waited), so the channel is ready without a long wait.
        let mut wait = 0;
        loop {
            let outcome = self.poll_once(offset, wait, stop, &holding).await;
            wait = self.config.poll_timeout;
            let Some(outcome) = outcome else {
                return Ok(());
            };
            let pause = match outcome {
                Ok(Ok(updates)) => {
                    self.health.ok(&self.name, &holding);
                    delay = Duration::from_secs(1);
                    for update in updates {
                        offset = offset.max(update.id.0 as i32 + 1);
                        self.accept(update).await;
                        self.store
                            .set_state(&self.offset_state, &offset.to_string())
                            .await?;
                    }
                    continue;
                }
                Ok(Err(teloxide::RequestError::RetryAfter(wait))) => wait.duration(),
                Ok(Err(e)) => {
                    self.health
                        .failing(&self.name, &format!("getUpdates failed: {e}"));
                    tracing::warn!(error = %e, ?delay, "Telegram polling failed; backing off");
                    delay
                }
                Err(_) => {
                    self.health
                        .failing(&self.name, "getUpdates hung; reconnecting");
                    tracing::warn!("Telegram did not answer a poll in time; reconnecting");
                    Duration::ZERO
                }
            };
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(pause) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    /// One long poll. A poll Telegram holds open means the connection works, so the
    /// channel is ready while it waits. `None` on `stop`; `Err(Elapsed)` when the poll
    /// outlived its hold by a wide margin (a dead connection).
    async fn poll_once(
        &self,
        offset: i32,
        wait: u32,
        stop: &CancellationToken,
        holding: &str,
    ) -> Option<PollOutcome> {
        let watchdog = Duration::from_secs(u64::from(wait) + 15);
        let request = self
            .poller
            .get_updates()
            .offset(offset)
            .timeout(wait)
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .send();
        tokio::pin!(request);
        let early = tokio::select! {
            _ = stop.cancelled() => return None,
            early = tokio::time::timeout(POLL_HELD_AFTER, &mut request) => early,
        };
        if let Ok(done) = early {
            return Some(Ok(done));
        }
        self.health
            .ok(&self.name, &format!("{holding}; waiting for messages"));
        tokio::select! {
            _ = stop.cancelled() => None,
            outcome = tokio::time::timeout(watchdog - POLL_HELD_AFTER, &mut request) => Some(outcome),
        }
    }
}
