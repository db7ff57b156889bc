//! What every platform's sending shares: one ordered queue per chat that waits out the
//! platform's `retry_after` (a request the platform asked us to repeat was not acted on, so
//! repeating it cannot post twice), turns serialised per chat, and posting a reply's parts
//! in order without ever sending again a part the platform may have taken.

use super::claims::InboundLedger;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

/// Attempts per request when the platform asks us to slow down or cannot be reached.
pub const MAX_ATTEMPTS: u32 = 8;

/// Why a request was not sent, and what the platform may have done with it.
#[derive(Debug, Clone, PartialEq)]
pub enum SendFailure {
    /// Certainly not acted on, and worth trying again later: the platform kept asking to
    /// wait, or could not be reached.
    Later(String),
    /// Certainly not acted on, and trying again would not help: the platform refused it.
    Refused(String),
    /// The answer was lost: the platform may have acted on it.
    Unknown(String),
}

impl SendFailure {
    pub fn message(&self) -> &str {
        match self {
            SendFailure::Later(m) | SendFailure::Refused(m) | SendFailure::Unknown(m) => m,
        }
    }
}

/// How one attempt at a request went, in the platform adapter's words.
pub enum Attempt<T> {
    Sent(T),
    /// The platform asked to wait this long (429 `retry_after` / `Retry-After`).
    Wait(Duration),
    /// The connection could not be made: nothing reached the platform.
    Unreachable(String),
    /// The platform answered no.
    Refused(String),
    /// Anything else: the request may have been acted on.
    Lost(String),
}

type Locks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

/// The per-chat queues of one platform.
pub struct ChatQueues {
    platform: &'static str,
    sends: Locks,
    turns: Locks,
}

fn lock_for(map: &Locks, chat: &str) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(chat.to_string()).or_default().clone()
}

impl ChatQueues {
    pub fn new(platform: &'static str) -> ChatQueues {
        ChatQueues {
            platform,
            sends: Mutex::default(),
            turns: Mutex::default(),
        }
    }

    /// Held while a turn of this chat runs, so answers do not interleave.
    pub async fn turn(&self, chat: &str) -> OwnedMutexGuard<()> {
        lock_for(&self.turns, chat).lock_owned().await
    }

    /// Runs `attempt` in the chat's send queue until it is sent, refused or lost. A wait
    /// the platform asks for holds the whole queue, so messages keep their order; only a
    /// request the platform certainly did not act on is tried again.
    pub async fn send<T, F, Fut>(&self, chat: &str, mut attempt: F) -> Result<T, SendFailure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T>>,
    {
        let lock = lock_for(&self.sends, chat);
        let _queue = lock.lock().await;
        let platform = self.platform;
        let mut last = SendFailure::Later(format!("{platform} kept asking to wait"));
        for n in 1..=MAX_ATTEMPTS {
            match attempt().await {
                Attempt::Sent(output) => return Ok(output),
                Attempt::Wait(wait) => {
                    tracing::info!(platform, chat, attempt = n, ?wait, "asked to wait");
                    tokio::time::sleep(wait.max(Duration::from_millis(50))).await;
                    last = SendFailure::Later(format!("{platform} kept asking to wait"));
                }
                Attempt::Unreachable(e) => {
                    tracing::warn!(platform, chat, attempt = n, error = %e, "unreachable; retrying");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(n))).await;
                    last = SendFailure::Later(format!("{platform} could not be reached: {e}"));
                }
                Attempt::Refused(e) => {
                    return Err(SendFailure::Refused(format!("{platform} refused it: {e}")))
                }
                Attempt::Lost(e) => {
                    return Err(SendFailure::Unknown(format!(
                        "the answer from {platform} was lost ({e}); it may have been posted"
                    )))
                }
            }
        }
        tracing::error!(
            platform,
            chat,
            "gave up sending after {MAX_ATTEMPTS} attempts"
        );
        Err(last)
    }
}

/// Posts parts `skip..total` in order with `send(index)`. On failure, says how many parts
/// are posted in all and why the next one was not; a caller that tries again later passes
/// that count as `skip`, so no part is posted twice.
pub async fn post_parts<F, Fut>(
    total: usize,
    skip: usize,
    mut send: F,
) -> Result<(), (usize, SendFailure)>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), SendFailure>>,
{
    for index in skip..total {
        if let Err(failure) = send(index).await {
            return Err((index, failure));
        }
    }
    Ok(())
}

/// The "On it…" message a channel posts in the background once a request needs tools, and
/// edits into the answer's first part. Once posted it is noted on the claim of the event
/// being answered, so a process that takes the event over edits it instead of posting
/// another.
pub struct Placeholder<Id> {
    slot: Mutex<Option<Posted<Id>>>,
    /// The claims and the claim id to note it on.
    record: Option<(Arc<InboundLedger>, String)>,
}

/// A platform's message id as it is kept with a claim.
pub trait PlaceholderId: Send + 'static {
    fn noted(&self) -> String;
}

impl PlaceholderId for String {
    fn noted(&self) -> String {
        self.clone()
    }
}

enum Posted<Id> {
    Posting(tokio::task::JoinHandle<Option<Id>>),
    /// Posted by an earlier attempt at the same request (a process that died).
    Adopted(Id),
}

/// What the placeholder says.
pub const ON_IT: &str = "On it…";

impl<Id: Send + 'static> Default for Placeholder<Id> {
    fn default() -> Self {
        Placeholder {
            slot: Mutex::new(None),
            record: None,
        }
    }
}

impl<Id: PlaceholderId> Placeholder<Id> {
    /// Notes the placeholder, once posted, on claim `id` of `claims`.
    pub fn record_on(&mut self, claims: Arc<InboundLedger>, id: String) {
        self.record = Some((claims, id));
    }

    /// A placeholder an earlier attempt at this request already posted: the answer is
    /// edited into it, and none is posted again.
    pub fn adopt(&self, id: Id) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Posted::Adopted(id));
    }

    /// Posts it with `post` (once; later calls, or an adopted one, do nothing). Returns
    /// at once.
    pub fn start(&self, post: impl Future<Output = Option<Id>> + Send + 'static) {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        let record = self.record.clone();
        *slot = Some(Posted::Posting(tokio::spawn(async move {
            let posted = post.await;
            let noted = posted.as_ref().map(PlaceholderId::noted);
            if let (Some(message), Some((claims, id))) = (noted, record) {
                claims.placeholder_posted(&id, &message).await;
            }
            posted
        })));
    }

    /// The posted placeholder's id (waiting for the post to finish), if any; once.
    pub async fn take(&self) -> Option<Id> {
        let posted = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take()?;
        match posted {
            Posted::Posting(handle) => handle.await.ok().flatten(),
            Posted::Adopted(id) => Some(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn waits_are_waited_out_and_only_safe_failures_are_retried() {
        let queues = ChatQueues::new("test");
        let tries = AtomicU32::new(0);
        let sent = queues
            .send("1", || async {
                match tries.fetch_add(1, Ordering::SeqCst) {
                    0 => Attempt::Wait(Duration::from_secs(3)),
                    1 => Attempt::Unreachable("refused".into()),
                    _ => Attempt::Sent(42),
                }
            })
            .await;
        assert_eq!(sent, Ok(42));
        assert_eq!(tries.load(Ordering::SeqCst), 3);

        let lost: Result<(), _> = queues
            .send("1", || async { Attempt::Lost("reset".into()) })
            .await;
        assert!(matches!(lost, Err(SendFailure::Unknown(_))));
        let refused: Result<(), _> = queues
            .send("1", || async { Attempt::Refused("400".into()) })
            .await;
        assert!(matches!(refused, Err(SendFailure::Refused(_))));
        let tries = AtomicU32::new(0);
        let waits: Result<(), _> = queues
            .send("1", || async {
                tries.fetch_add(1, Ordering::SeqCst);
                Attempt::Wait(Duration::from_secs(1))
            })
            .await;
        assert!(matches!(waits, Err(SendFailure::Later(_))));
        assert_eq!(tries.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }

    #[tokio::test]
    async fn parts_posted_are_never_posted_again() {
        let posted = Mutex::new(Vec::new());
        let first = post_parts(4, 0, |i| {
            let posted = &posted;
            async move {
                if i == 2 {
                    return Err(SendFailure::Later("wait".into()));
                }
                posted.lock().unwrap().push(i);
                Ok(())
            }
        })
        .await;
        let Err((done, _)) = first else {
            panic!("the third part fails")
        };
        assert_eq!(done, 2);
        post_parts(4, done, |i| {
            let posted = &posted;
            async move {
                posted.lock().unwrap().push(i);
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(*posted.lock().unwrap(), [0, 1, 2, 3]);
    }
}
