//! The step: which fires are due at `now`, claimed once across replicas, missed past
//! the grace period, or left `running` by a crash.

use super::*;

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

impl Scheduler {
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
        let facts = self.facts(due.len()).await?;
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
        let soonest = self.soonest_due(&all, now);
        self.save_anchors(&anchors).await?;
        *self.earliest.lock().unwrap_or_else(|e| e.into_inner()) = Some(soonest);
        Ok(tick)
    }

    /// The store's facts about `due` tasks: read up front when there are many.
    async fn facts(&self, due: usize) -> Result<Facts, StoreError> {
        if due <= PREFETCH_ABOVE {
            return Ok(Facts::Ask);
        }
        Ok(Facts::Read {
            last: self.store.last_scheduled_all().await?.into_iter().collect(),
            states: self
                .store
                .states_with_prefix("scheduler.")
                .await?
                .into_iter()
                .collect(),
        })
    }

    /// When the next tick has anything to do: the soonest due time of any task.
    fn soonest_due(&self, all: &[Workflow], now: DateTime<Utc>) -> DateTime<Utc> {
        let next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .filter_map(|task| match next.get(&task.id) {
                Some(due) => *due,
                // Not looked at (cannot happen after the loop): look again now.
                None => Some(now),
            })
            .min()
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Anchors the tasks seen for the first time together, in one transaction; when
    /// that fails, they are looked at again by the next tick.
    async fn save_anchors(&self, anchors: &[(String, String)]) -> Result<(), StoreError> {
        if anchors.is_empty() {
            return Ok(());
        }
        let Err(e) = self.store.set_states(anchors).await else {
            return Ok(());
        };
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        for (key, _) in anchors {
            next.remove(key.trim_start_matches(ANCHOR_PREFIX));
        }
        drop(next);
        self.forget_earliest();
        Err(e)
    }

    /// One due, active task: its missed fires recorded, its latest fire claimed and
    /// started, or missed when it is past the grace period.
    async fn tick_task(
        self: &Arc<Self>,
        task: &Workflow,
        now: DateTime<Utc>,
        resumed_at: Option<DateTime<Utc>>,
        facts: &Facts,
        anchors: &mut Vec<(String, String)>,
        tick: &mut Tick,
    ) -> Result<(), StoreError> {
        let Some(since) = self.counted_from(task, now, facts, anchors).await? else {
            return Ok(());
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
        self.start(task, latest, now, tick).await
    }

    /// Where the task's fires are counted from: the last recorded one, or when the task
    /// was first seen, so a restart neither loses nor repeats them. None for a task seen
    /// for the first time, whose anchor is added to `anchors`.
    async fn counted_from(
        &self,
        task: &Workflow,
        now: DateTime<Utc>,
        facts: &Facts,
        anchors: &mut Vec<(String, String)>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let store = self.store.as_ref();
        if let Some(last) = facts.last_scheduled(store, &task.id).await? {
            return Ok(Some(last));
        }
        let key = anchor_key(&task.id);
        match facts.state(store, &key).await? {
            Some(ms) => Ok(Some(
                ms.parse()
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or(now),
            )),
            None => {
                anchors.push((key, now.timestamp_millis().to_string()));
                Ok(None)
            }
        }
    }

    /// Claims the fire at `latest` and, when this replica got it, runs it in the
    /// background.
    async fn start(
        self: &Arc<Self>,
        task: &Workflow,
        latest: DateTime<Utc>,
        now: DateTime<Utc>,
        tick: &mut Tick,
    ) -> Result<(), StoreError> {
        if !self
            .store
            .claim_run(&task.id, latest, RunStatus::Running, now)
            .await?
        {
            return Ok(());
        }
        tracing::info!(task = %task.id, fire = %latest, "fire claimed; running it");
        let this = self.clone();
        let task = task.clone();
        let id = task.id.clone();
        let handle =
            tokio::spawn(
                async move { this.execute(&task, latest, now, Deliver::WithRetries).await },
            );
        tick.started.push((id, latest, handle));
        Ok(())
    }

    /// Makes the next tick look at every task (after the list or due times changed).
    pub(super) fn forget_earliest(&self) {
        *self.earliest.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Marks runs left `running` by a crash as failed; looks once a minute at most.
    pub(super) async fn recover_crashed_runs(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
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
}
