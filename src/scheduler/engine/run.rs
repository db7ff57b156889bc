//! One claimed fire run through the agent without a person, its outcome recorded; and
//! the runs of event rules.

use super::*;

impl Scheduler {
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

    /// Runs one claimed fire and delivers it; every outcome is recorded.
    pub(super) async fn execute(
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
    pub(super) async fn execute_as(
        &self,
        task: &Workflow,
        prompt: &str,
        kind: RunKind,
        fire: DateTime<Utc>,
        started: DateTime<Utc>,
        deliver: Deliver,
    ) {
        let turn = unattended_turn(task, kind, fire);
        let conversation = turn.conversation.clone();
        let progress = || {};
        let Some(agent) = self.agent.upgrade() else {
            tracing::warn!(task = %task.id, "the process is stopping; the run is left to be marked failed");
            return;
        };
        // A workflow that follows a skill runs with the skill's playbook in its prompt.
        let playbook = task
            .skill
            .as_deref()
            .and_then(|s| agent.playbook_for_run(s));
        let prompt = format!("{prompt}{}", playbook.unwrap_or_default());
        let asked = agent.ask(&turn, &prompt, &progress).await;
        let (status, text, files) = run_outcome(&task.id, asked);
        let credits = self
            .store
            .conversation_credits(&conversation, DateTime::UNIX_EPOCH)
            .await
            .unwrap_or(0.0);
        let model = agent
            .resolve_model(task.model.as_deref())
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
}

/// The turn of an unattended run: its own conversation, no person, writes refused unless
/// the file allows them.
fn unattended_turn(task: &Workflow, kind: RunKind, fire: DateTime<Utc>) -> Turn {
    let conversation = format!("task:{}:{}", task.id, fire.timestamp_millis());
    let channel = task.deliver.as_ref().map_or("none", |d| d.channel.as_str());
    Turn {
        conversation: conversation.clone(),
        tags: CallTags {
            platform: crate::config::ConnectionName::parse(channel)
                .platform()
                .to_string(),
            connection: channel.to_string(),
            user: "scheduler".into(),
            kind,
            conversation: Some(conversation),
            task: Some(task.id.clone()),
        },
        model: task.model.clone(),
        unattended: true,
        allow_writes: task.allow_writes.clone(),
        role: Role::Viewer,
    }
}

/// What a run's turn came to: its status, the text recorded and posted, its files.
fn run_outcome(
    task: &str,
    asked: Result<TurnOutcome, AgentError>,
) -> (RunStatus, String, Vec<Attachment>) {
    match asked {
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
            tracing::warn!(task, "run skipped: {spent}");
            (RunStatus::SkippedBudget, spent.to_string(), Vec::new())
        }
        Err(e) => (
            RunStatus::Failed,
            format!("The run failed: {e}"),
            Vec::new(),
        ),
    }
}
