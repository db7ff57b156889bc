//! Connections only one process may hold at a time: a platform's long polling (a second
//! poller is refused), its gateway session or its socket. With several replicas on one database, one holds a lease in the store and keeps
//! extending it; the others stand by and take over once the holder's lease lapses (it
//! died) or is let go (it stopped).

use super::{SharedStore, StoreResult};
use crate::clock::Clock;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a lease lasts without renewal: a dead holder is replaced within this plus
/// [`LOOK_EVERY`].
pub const LEASE: Duration = Duration::from_secs(20);
/// How often the holder renews and a standby looks again.
pub const LOOK_EVERY: Duration = Duration::from_secs(5);

/// Where this process stands on one lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    Holding,
    /// Another process holds it.
    Standby {
        holder: String,
    },
}

/// This process's claim on one single-holder connection.
pub struct SingleHolder {
    store: SharedStore,
    name: &'static str,
    owner: String,
    clock: Clock,
}

impl SingleHolder {
    /// `name` identifies the connection, e.g. `<platform>.polling`.
    pub fn new(store: SharedStore, name: &'static str, clock: Clock) -> SingleHolder {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "fanops".into());
        let short = uuid::Uuid::new_v4().simple().to_string();
        SingleHolder {
            store,
            name,
            owner: format!("{host}/pid {}/{}", std::process::id(), &short[..8]),
            clock,
        }
    }

    /// This process's name in `/readyz`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes the lease if it is free or lapsed, or keeps it if it is ours.
    pub async fn try_hold(&self) -> StoreResult<Standing> {
        let now = self.clock.now();
        let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        if self
            .store
            .hold_lease(self.name, &self.owner, now, until)
            .await?
        {
            return Ok(Standing::Holding);
        }
        let holder = self
            .store
            .lease_holder(self.name)
            .await?
            .map_or_else(|| "another process".to_string(), |(owner, _)| owner);
        Ok(Standing::Standby { holder })
    }

    /// Waits until this process holds the lease, telling `standby` who holds it meanwhile.
    /// False on shutdown.
    pub async fn wait_to_hold(
        &self,
        shutdown: &CancellationToken,
        mut standby: impl FnMut(Result<&str, String>),
    ) -> bool {
        loop {
            match self.try_hold().await {
                Ok(Standing::Holding) => return true,
                Ok(Standing::Standby { holder }) => standby(Ok(&holder)),
                Err(e) => standby(Err(format!("could not reach the lease {}: {e}", self.name))),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
        }
    }

    /// Renews the lease every [`LOOK_EVERY`] until `done`; cancels `lost` (and returns)
    /// when another process took it, or when the store could not confirm it for a whole
    /// lease (the lease may have lapsed).
    pub async fn keep(self: Arc<Self>, done: CancellationToken, lost: CancellationToken) {
        let mut confirmed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = done.cancelled() => return,
                _ = tokio::time::sleep(LOOK_EVERY) => {}
            }
            match self.try_hold().await {
                Ok(Standing::Holding) => confirmed = tokio::time::Instant::now(),
                Ok(Standing::Standby { holder }) => {
                    tracing::warn!(lease = self.name, %holder, "another process took over");
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    tracing::warn!(lease = self.name, error = %e, "could not renew a lease");
                    if confirmed.elapsed() >= LEASE {
                        lost.cancel();
                        return;
                    }
                }
            }
        }
    }

    /// Lets go, so a standby takes over at its next look instead of waiting for the lease.
    pub async fn release(&self) {
        if let Err(e) = self.store.release_lease(self.name, &self.owner).await {
            tracing::warn!(lease = self.name, error = %e, "could not release a lease");
        }
    }
}
