//! Running active workflows on time, exactly once.
//!
//! [`Scheduler::tick`] is the step: given `now`, it finds every task's fires since it last
//! looked, claims each in the store (only the replica whose insert succeeds runs it),
//! records fires missed beyond the grace period, and starts the due ones. The loop around
//! it only calls it once a second. A run goes through the agent without a person (kind
//! `scheduled`, writes refused) and its answer is delivered by code, not by the model.

use crate::agent::{Agent, AgentError, TurnOutcome};
use crate::chat::Turn;
use crate::chat::{Attachment, Deliveries, Role, RunKind};
pub use crate::chat::{Delivery, DeliveryFailure};
use crate::health::Health;
use crate::llm::CallTags;
use crate::store::{QueuedDelivery, RunStatus, SharedStore, Store, StoreError, TaskRun};
use crate::tasks::workflow::{Known, Workflow};
use crate::tasks::{self, anchor_key, PauseState, ANCHOR_PREFIX};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod deliver;
mod run;
mod tick;

/// The scheduler's name in `/readyz`.
const HEALTH_NAME: &str = "scheduler";

/// A shared, immutable list of workflows.
type Workflows = Arc<Vec<Workflow>>;

/// Re-sends of one delivery, each waiting twice as long as the one before.
pub(super) const DELIVERY_RETRIES: u32 = 6;

/// (here or on another replica).
const CHAT_TASKS_POLL: Duration = Duration::seconds(5);

pub struct Scheduler {
    /// Every workflow, templates included, and the active ones; both replaced whole when
    /// files or chat tasks change, so a tick only clones two pointers.
    all: RwLock<(Workflows, Workflows)>,
    /// The workflow files as last loaded.
    files: RwLock<Workflows>,
    /// Tasks created from chat, with the stored definition each was built from.
    chat: RwLock<Arc<Vec<(Workflow, String)>>>,
    /// The chat-task revision last loaded, and when the store was last asked.
    revision: std::sync::Mutex<(Option<String>, Option<DateTime<Utc>>)>,
    known: Known,
    store: SharedStore,
    /// Weak: the agent's task tools reach back to this scheduler through [`TaskBook`].
    agent: Weak<Agent>,
    deliveries: Deliveries,
    grace: Duration,
    /// Wait before the first re-send of a delivery that can be retried.
    delivery_retry: std::time::Duration,
    /// A run still `running` after this long is taken for crashed and marked failed.
    run_timeout: Duration,
    /// When each task is next due, as this process last computed it.
    next: std::sync::Mutex<HashMap<String, Option<DateTime<Utc>>>>,
    /// No task is due before this (None: unknown, look at every task). Idle ticks stop
    /// here without walking the task list.
    earliest: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// When runs left `running` by a crash were last looked for.
    stale_checked: std::sync::Mutex<Option<DateTime<Utc>>>,
}

/// Whether a run's answer is posted.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Deliver {
    /// A preview: recorded, not posted.
    No,
    /// Run by hand from the command line: posted once, the outcome reported at once.
    Once,
    /// A scheduled fire: a post the platform certainly did not accept is sent again later.
    WithRetries,
}

/// What an event rule does when it fires.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleFire {
    /// Post this text as it is (a filled-in template or digest): no model call.
    Post(String),
    /// Run this prompt through the agent, unattended.
    Ask(String),
}

/// What one tick did.
#[derive(Default)]
pub struct Tick {
    /// Fires this process claimed and started; await them to wait for the runs.
    pub started: Vec<(String, DateTime<Utc>, JoinHandle<()>)>,
    pub missed: Vec<(String, DateTime<Utc>)>,
    pub recovered: u64,
}

/// (every workflow, the active ones).
fn split(workflows: Vec<Workflow>) -> (Workflows, Workflows) {
    let active = workflows
        .iter()
        .filter(|w| !w.is_template())
        .cloned()
        .collect();
    (Arc::new(workflows), Arc::new(active))
}

impl Scheduler {
    /// `workflows` (the files) may include templates; only active tasks are scheduled.
    /// Tasks created from chat are added by [`Scheduler::refresh_chat_tasks`].
    pub fn new(
        workflows: Vec<Workflow>,
        known: Known,
        store: SharedStore,
        agent: Weak<Agent>,
        deliveries: Deliveries,
        grace: std::time::Duration,
        delivery_retry: std::time::Duration,
    ) -> Scheduler {
        let files = Arc::new(workflows);
        Scheduler {
            all: RwLock::new(split(files.as_ref().clone())),
            files: RwLock::new(files),
            chat: Default::default(),
            revision: Default::default(),
            known,
            store,
            agent,
            deliveries,
            grace: Duration::from_std(grace).unwrap_or(Duration::hours(1)),
            delivery_retry,
            run_timeout: Duration::minutes(30),
            next: Default::default(),
            earliest: Default::default(),
            stale_checked: Default::default(),
        }
    }

    /// None: not computed yet (look now). Some(None): never due again.
    fn next_due(&self, task: &str) -> Option<DateTime<Utc>> {
        let map = self.next.lock().unwrap_or_else(|e| e.into_inner());
        map.get(task)
            .map(|next| next.unwrap_or(DateTime::<Utc>::MAX_UTC))
    }

    fn set_next_due(&self, task: &str, next: Option<DateTime<Utc>>) {
        let mut map = self.next.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(task.to_string(), next);
    }

    /// The active workflows: the ones scheduled.
    pub fn tasks(&self) -> Arc<Vec<Workflow>> {
        self.all.read().unwrap_or_else(|e| e.into_inner()).1.clone()
    }

    /// Every workflow, templates included.
    pub fn workflows(&self) -> Arc<Vec<Workflow>> {
        self.all.read().unwrap_or_else(|e| e.into_inner()).0.clone()
    }

    /// What workflows may refer to (model aliases, skills, the team zone).
    pub fn known(&self) -> &Known {
        &self.known
    }

    /// Replaces the workflow files (after they changed). Run history is keyed by task
    /// id, so an edited task keeps it; due times are computed afresh.
    pub fn reload(&self, workflows: Vec<Workflow>) {
        *self.files.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(workflows);
        self.combine();
        self.next.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.forget_earliest();
    }

    /// Rebuilds the lists from the files and the chat tasks. A file wins over a chat task
    /// of the same id (chat never creates one, but a file may be added later).
    fn combine(&self) {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner()).clone();
        let chat = self.chat.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut all: Vec<Workflow> = files.as_ref().clone();
        for (task, _) in chat.iter() {
            if files.iter().any(|f| f.id == task.id) {
                tracing::warn!(task = %task.id, "a workflow file has the id of a task created from chat; the file is used");
            } else {
                all.push(task.clone());
            }
        }
        *self.all.write().unwrap_or_else(|e| e.into_inner()) = split(all);
    }

    /// Loads the tasks created from chat; only changed ones have their due time redone.
    /// A stored task that no longer validates is logged and left out.
    pub async fn refresh_chat_tasks(&self) -> Result<(), StoreError> {
        // Read first, so a change made while loading is seen by the next poll.
        let revision = self.store.state(crate::tasks::stored::REVISION_KEY).await?;
        let (loaded, problems) =
            crate::tasks::stored::load(self.store.as_ref(), &self.known).await?;
        for problem in &problems {
            tracing::error!("{problem}; the task is not scheduled until it is fixed");
        }
        let before = self.chat.read().unwrap_or_else(|e| e.into_inner()).clone();
        let absent_from = |list: &[(Workflow, String)], (task, definition): &(Workflow, String)| {
            !list.iter().any(|(t, d)| t.id == task.id && d == definition)
        };
        let changed: Vec<String> = before
            .iter()
            .filter(|entry| absent_from(&loaded, entry))
            .chain(loaded.iter().filter(|entry| absent_from(&before, entry)))
            .map(|(task, _)| task.id.clone())
            .collect();
        {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            for id in &changed {
                next.remove(id);
            }
        }
        self.forget_earliest();
        *self.chat.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        self.combine();
        self.revision.lock().unwrap_or_else(|e| e.into_inner()).0 = revision;
        Ok(())
    }

    /// Reloads the chat tasks when their revision moved; asks at most every few seconds.
    async fn follow_chat_tasks(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        {
            let mut seen = self.revision.lock().unwrap_or_else(|e| e.into_inner());
            let recent = seen
                .1
                .is_some_and(|at| at <= now && now - at < CHAT_TASKS_POLL);
            if recent {
                return Ok(());
            }
            seen.1 = Some(now);
        }
        let current = self.store.state(crate::tasks::stored::REVISION_KEY).await?;
        let known = self
            .revision
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone();
        if current != known {
            tracing::info!("tasks created from chat changed; reloading them");
            self.refresh_chat_tasks().await?;
        }
        Ok(())
    }

    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// How long the loop may sleep: until the earliest task is due, at most a second.
    fn idle_for(&self, now: DateTime<Utc>) -> std::time::Duration {
        let earliest = *self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        let wait = earliest.map_or(Duration::seconds(1), |at| at - now);
        wait.clamp(Duration::milliseconds(5), Duration::seconds(1))
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1))
    }

    /// Ticks until `shutdown`, waking when the next task is due (and at least every
    /// second); each tick is reported to `health` as the scheduler's last sign of life.
    /// On shutdown, the runs in flight get up to `grace` to finish.
    pub async fn run(
        self: Arc<Self>,
        shutdown: CancellationToken,
        health: Health,
        grace: std::time::Duration,
    ) -> anyhow::Result<()> {
        tracing::info!(tasks = self.tasks().len(), "scheduler started");
        health.register(HEALTH_NAME, Some(std::time::Duration::from_secs(60)));
        let mut in_flight: Vec<JoinHandle<()>> = Vec::new();
        let retries = tokio::spawn(self.clone().retry_loop(shutdown.clone()));
        loop {
            let now = Utc::now();
            match self.tick(now).await {
                Ok(outcome) => {
                    in_flight.retain(|run| !run.is_finished());
                    in_flight.extend(outcome.started.into_iter().map(|(_, _, run)| run));
                    health.ok(
                        HEALTH_NAME,
                        &format!("last tick {}", now.format("%Y-%m-%dT%H:%M:%SZ")),
                    );
                }
                Err(e) => {
                    health.failing(HEALTH_NAME, &format!("tick failed: {e}"));
                    tracing::error!(error = %e, "scheduler tick failed");
                }
            }
            let wait = self.idle_for(Utc::now());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        let _ = retries.await;
        in_flight.retain(|run| !run.is_finished());
        if !in_flight.is_empty() {
            tracing::info!(
                runs = in_flight.len(),
                ?grace,
                "letting the scheduled runs in flight finish"
            );
            let all = futures::future::join_all(in_flight);
            if tokio::time::timeout(grace, all).await.is_err() {
                tracing::warn!("the grace period ended with scheduled runs still going; they will be marked failed");
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl crate::tasks::TaskBook for Scheduler {
    fn workflows(&self) -> Arc<Vec<Workflow>> {
        Scheduler::workflows(self)
    }

    fn known(&self) -> &Known {
        Scheduler::known(self)
    }

    fn channels(&self) -> Vec<String> {
        self.deliveries.channels()
    }

    async fn refresh(&self) -> Result<(), StoreError> {
        self.refresh_chat_tasks().await
    }

    async fn preview(&self, task: &Workflow) -> Result<TaskRun, StoreError> {
        self.run_now(task, false).await
    }
}
