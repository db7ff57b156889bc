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

/// The scheduler's name in `/readyz`.
const HEALTH_NAME: &str = "scheduler";

/// A shared, immutable list of workflows.
type Workflows = Arc<Vec<Workflow>>;

/// Re-sends of one delivery, each waiting twice as long as the one before.
pub(super) const DELIVERY_RETRIES: u32 = 6;

/// Fires looked at per task and tick (an `every = "1m"` task down for a week).
const MAX_FIRES_PER_TICK: usize = 10_000;

/// Fires recorded as missed are capped, so a long outage does not flood the table.
const MAX_MISSED_PER_TICK: usize = 100;

/// Above this many tasks to look at in one tick (a start or reload with thousands of
/// tasks), their facts are read in two queries instead of two per task.
const PREFETCH_ABOVE: usize = 32;

/// What the store says about the tasks one tick looks at: asked per task, or read up
/// front when there are many.
enum Facts {
    Ask,
    Read {
        last: HashMap<String, DateTime<Utc>>,
        /// The scheduler's state entries (pause states and anchors), by name.
        states: HashMap<String, String>,
    },
}

impl Facts {
    async fn last_scheduled(
        &self,
        store: &dyn Store,
        task: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self {
            Facts::Ask => store.last_scheduled(task).await,
            Facts::Read { last, .. } => Ok(last.get(task).copied()),
        }
    }

    async fn state(&self, store: &dyn Store, name: &str) -> Result<Option<String>, StoreError> {
        match self {
            Facts::Ask => store.state(name).await,
            Facts::Read { states, .. } => Ok(states.get(name).cloned()),
        }
    }
}

/// How often the store is asked whether tasks were created, edited or deleted from chat
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

    /// Runs a workflow now, outside its schedule (a preview for a template), and waits.
    /// An active task's output is delivered as usual.
    /// With `deliver` false it is a preview: recorded, not posted.
    pub async fn run_now(&self, task: &Workflow, deliver: bool) -> Result<TaskRun, StoreError> {
        let now = Utc::now();
        // A manual run has its own instant, so it never takes a scheduled fire's claim.
        let fire = now;
        if !self.store.claim_manual_run(&task.id, fire).await? {
            return Err(StoreError::Corrupt(format!(
                "a run of `{}` at this instant already exists",
                task.id
            )));
        }
        let delivery = if deliver { Deliver::Once } else { Deliver::No };
        self.execute(task, fire, now, delivery).await;
        let runs = self.store.recent_runs(&task.id, 20).await?;
        runs.into_iter()
            .find(|r| r.scheduled_for.timestamp_millis() == fire.timestamp_millis())
            .ok_or_else(|| StoreError::Corrupt("the run was not recorded".into()))
    }

    /// One step at `now`.
    pub async fn tick(self: &Arc<Self>, now: DateTime<Utc>) -> Result<Tick, StoreError> {
        self.follow_chat_tasks(now).await?;
        let mut tick = Tick {
            recovered: self.recover_crashed_runs(now).await?,
            ..Tick::default()
        };
        let earliest = *self.earliest.lock().unwrap_or_else(|e| e.into_inner());
        if earliest.is_some_and(|at| now < at) {
            return Ok(tick);
        }
        let all = self.tasks();
        // Idle ticks touch no database: a task is looked at again only when due.
        let due: Vec<&Workflow> = all
            .iter()
            .filter(|task| self.next_due(&task.id).is_none_or(|next| next <= now))
            .collect();
        let facts = if due.len() > PREFETCH_ABOVE {
            Facts::Read {
                last: self.store.last_scheduled_all().await?.into_iter().collect(),
                states: self
                    .store
                    .states_with_prefix("scheduler.")
                    .await?
                    .into_iter()
                    .collect(),
            }
        } else {
            Facts::Ask
        };
        let mut anchors = Vec::new();
        for task in due {
            let paused = facts
                .state(self.store.as_ref(), &tasks::paused_key(&task.id))
                .await?;
            if let PauseState::Active { resumed_at } = tasks::parse_pause(paused.as_deref()) {
                self.tick_task(task, now, resumed_at, &facts, &mut anchors, &mut tick)
                    .await?;
            }
            let next = task.schedule.next_after(now);
            self.set_next_due(&task.id, next);
        }
        let soonest = {
            let next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            all.iter()
                .filter_map(|task| match next.get(&task.id) {
                    Some(due) => *due,
                    // Not looked at (cannot happen after the loop): look again now.
                    None => Some(now),
                })
                .min()
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        };
        // Tasks seen for the first time are anchored together, in one transaction.
        if !anchors.is_empty() {
            if let Err(e) = self.store.set_states(&anchors).await {
                let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
                for (key, _) in &anchors {
                    next.remove(key.trim_start_matches(ANCHOR_PREFIX));
                }
                drop(next);
                self.forget_earliest();
                return Err(e);
            }
        }
        *self.earliest.lock().unwrap_or_else(|e| e.into_inner()) = Some(soonest);
        Ok(tick)
    }

    async fn tick_task(
        self: &Arc<Self>,
        task: &Workflow,
        now: DateTime<Utc>,
        resumed_at: Option<DateTime<Utc>>,
        facts: &Facts,
        anchors: &mut Vec<(String, String)>,
        tick: &mut Tick,
    ) -> Result<(), StoreError> {
        // Fires are counted from the last recorded one, or from when the task was first
        // seen, so a restart neither loses nor repeats them.
        let store = self.store.as_ref();
        let since = match facts.last_scheduled(store, &task.id).await? {
            Some(last) => last,
            None => {
                let key = anchor_key(&task.id);
                match facts.state(store, &key).await? {
                    Some(ms) => ms
                        .parse()
                        .ok()
                        .and_then(DateTime::from_timestamp_millis)
                        .unwrap_or(now),
                    None => {
                        anchors.push((key, now.timestamp_millis().to_string()));
                        return Ok(());
                    }
                }
            }
        };
        // Fires while the task was paused are not owed: count from its resumption.
        let since = resumed_at.map_or(since, |resumed| since.max(resumed));
        let mut fires = task.schedule.fires_between(since, now, MAX_FIRES_PER_TICK);
        let Some(latest) = fires.pop() else {
            return Ok(());
        };
        let skip = fires.len().saturating_sub(MAX_MISSED_PER_TICK);
        for fire in fires.into_iter().skip(skip) {
            if self
                .store
                .claim_run(&task.id, fire, RunStatus::Missed, now)
                .await?
            {
                tick.missed.push((task.id.clone(), fire));
            }
        }
        if now - latest > self.grace {
            if self
                .store
                .claim_run(&task.id, latest, RunStatus::Missed, now)
                .await?
            {
                tracing::warn!(task = %task.id, fire = %latest, "fire missed beyond the grace period");
                tick.missed.push((task.id.clone(), latest));
            }
            return Ok(());
        }
        if self
            .store
            .claim_run(&task.id, latest, RunStatus::Running, now)
            .await?
        {
            tracing::info!(task = %task.id, fire = %latest, "fire claimed; running it");
            let this = self.clone();
            let task = task.clone();
            let id = task.id.clone();
            let handle = tokio::spawn(async move {
                this.execute(&task, latest, now, Deliver::WithRetries).await
            });
            tick.started.push((id, latest, handle));
        }
        Ok(())
    }

    /// Runs one claimed fire and delivers it; every outcome is recorded.
    async fn execute(
        &self,
        task: &Workflow,
        fire: DateTime<Utc>,
        started: DateTime<Utc>,
        deliver: Deliver,
    ) {
        self.execute_as(
            task,
            &task.prompt,
            RunKind::Scheduled,
            fire,
            started,
            deliver,
        )
        .await
    }

    /// [`Scheduler::execute`] with the prompt and the kind the run is metered as (an
    /// event rule runs its own prompt, with the event, as kind `event`).
    async fn execute_as(
        &self,
        task: &Workflow,
        prompt: &str,
        kind: RunKind,
        fire: DateTime<Utc>,
        started: DateTime<Utc>,
        deliver: Deliver,
    ) {
        let conversation = format!("task:{}:{}", task.id, fire.timestamp_millis());
        let channel = task.deliver.as_ref().map_or("none", |d| d.channel.as_str());
        let turn = Turn {
            conversation: conversation.clone(),
            tags: CallTags {
                platform: channel.to_string(),
                user: "scheduler".into(),
                kind,
                conversation: Some(conversation.clone()),
                task: Some(task.id.clone()),
            },
            model: task.model.clone(),
            unattended: true,
            allow_writes: task.allow_writes.clone(),
            role: Role::Viewer,
        };
        let progress = || {};
        let Some(agent) = self.agent.upgrade() else {
            tracing::warn!(task = %task.id, "the process is stopping; the run is left to be marked failed");
            return;
        };
        // A workflow that follows a skill runs with the skill's playbook in its prompt.
        let playbook = task
            .skill
            .as_deref()
            .and_then(|s| agent.registry.playbook_for_run(s));
        let prompt = format!("{prompt}{}", playbook.unwrap_or_default());
        let (status, text, files) = match agent.ask(&turn, &prompt, &progress).await {
            Ok(TurnOutcome::Answer(text, files)) => (RunStatus::Succeeded, text, files),
            Ok(TurnOutcome::NeedsConfirmation { action, .. }) => (
                RunStatus::Failed,
                format!(
                    "Stopped: the run asked for a change that needs a person ({}).",
                    action.summary
                ),
                Vec::new(),
            ),
            // Recorded as skipped for the budget, and not posted: the team's notice
            // (`[budgets] notify`) says the budget is spent, once.
            Err(AgentError::Budget(spent)) => {
                tracing::warn!(task = %task.id, "run skipped: {spent}");
                (RunStatus::SkippedBudget, spent.to_string(), Vec::new())
            }
            Err(e) => (
                RunStatus::Failed,
                format!("The run failed: {e}"),
                Vec::new(),
            ),
        };
        let credits = self
            .store
            .conversation_credits(&conversation, DateTime::UNIX_EPOCH)
            .await
            .unwrap_or(0.0);
        let model = agent
            .llm
            .resolve(task.model.as_deref())
            .ok()
            .map(str::to_string);
        let run = TaskRun {
            task: task.id.clone(),
            scheduled_for: fire,
            status,
            started_at: started,
            finished_at: Some(Utc::now()),
            model,
            output: Some(text.clone()),
            credits,
            delivered_at: None,
            delivery_error: None,
            // Not `succeeded` to anyone looking until the post reached the chat.
            delivery_retry: (deliver != Deliver::No
                && status != RunStatus::SkippedBudget
                && task.deliver.is_some())
            .then_some(0),
        };
        if let Err(e) = self.store.finish_run(&run).await {
            tracing::error!(task = %task.id, error = %e, "could not record a finished run");
        }
        if deliver != Deliver::No && status != RunStatus::SkippedBudget {
            let retries = deliver == Deliver::WithRetries;
            self.deliver(task, fire, status, &text, &files, retries)
                .await;
        }
    }

    async fn deliver(
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
    async fn post(
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
        let failure = match channel.deliver(&deliver.to, &body, files, 0).await {
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

    /// Runs an event rule once: records it as a run of the rule (at the first instant
    /// from `at` no other run of it holds), then posts `action`'s text, or runs its prompt
    /// through the agent unattended (metered as kind `event`), and delivers it through
    /// the same path and retries as scheduled posts. Returns the run as recorded.
    pub async fn fire_rule(
        &self,
        rule: &Workflow,
        at: DateTime<Utc>,
        action: RuleFire,
    ) -> Result<TaskRun, StoreError> {
        let fire = self.claim_rule_run(rule, at).await?;
        self.run_rule(rule, fire, action).await
    }

    /// Records a run of an event rule at the first instant from `at` no other run of it
    /// holds; the instant names the run.
    pub async fn claim_rule_run(
        &self,
        rule: &Workflow,
        at: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let now = Utc::now();
        let at = DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at);
        for step in 0..1000 {
            let candidate = at + Duration::milliseconds(step);
            if self
                .store
                .claim_run(&rule.id, candidate, RunStatus::Running, now)
                .await?
            {
                return Ok(candidate);
            }
        }
        Err(StoreError::Corrupt(format!(
            "no free instant to record a run of `{}`",
            rule.id
        )))
    }

    /// Runs a claimed run of an event rule (see [`Scheduler::fire_rule`]).
    pub async fn run_rule(
        &self,
        rule: &Workflow,
        fire: DateTime<Utc>,
        action: RuleFire,
    ) -> Result<TaskRun, StoreError> {
        let now = Utc::now();
        match action {
            RuleFire::Post(text) => {
                let run = TaskRun {
                    task: rule.id.clone(),
                    scheduled_for: fire,
                    status: RunStatus::Succeeded,
                    started_at: now,
                    finished_at: Some(Utc::now()),
                    model: None,
                    output: Some(text.clone()),
                    credits: 0.0,
                    delivered_at: None,
                    delivery_error: None,
                    delivery_retry: rule.deliver.is_some().then_some(0),
                };
                self.store.finish_run(&run).await?;
                self.post(rule, fire, text, &[], true).await;
            }
            RuleFire::Ask(prompt) => {
                self.execute_as(
                    rule,
                    &prompt,
                    RunKind::Event,
                    fire,
                    now,
                    Deliver::WithRetries,
                )
                .await;
            }
        }
        let runs = self.store.recent_runs(&rule.id, 50).await?;
        runs.into_iter()
            .find(|r| r.scheduled_for.timestamp_millis() == fire.timestamp_millis())
            .ok_or_else(|| StoreError::Corrupt("the rule's run was not recorded".into()))
    }

    /// The wait before re-send number `attempt + 1`: `[scheduler] delivery_retry`, doubling.
    pub(super) fn retry_wait(&self, attempt: u32) -> std::time::Duration {
        self.delivery_retry
            .saturating_mul(2u32.saturating_pow(attempt))
    }

    /// The platform a post goes to, when this process runs it.
    pub(super) fn delivery(&self, channel: &str) -> Option<Arc<dyn Delivery>> {
        self.deliveries.get(channel)
    }

    /// Records how a fire's post went: delivered (no error), refused for good, or refused
    /// for now with retry number `retry` waiting.
    pub(super) async fn record_delivery(
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

    /// Makes the next tick look at every task (after the list or due times changed).
    fn forget_earliest(&self) {
        *self.earliest.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Marks runs left `running` by a crash as failed; looks once a minute at most.
    async fn recover_crashed_runs(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        {
            let mut checked = self.stale_checked.lock().unwrap_or_else(|e| e.into_inner());
            if checked.is_some_and(|at| at <= now && now - at < Duration::minutes(1)) {
                return Ok(0);
            }
            *checked = Some(now);
        }
        self.store
            .fail_stale_runs(now - self.run_timeout, now)
            .await
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
