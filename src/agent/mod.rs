//! The tool-calling loop. Build the prompt, call the model, run the reads it asks for
//! (concurrently), feed the results back, repeat until it answers or the step limit is
//! reached. A write is never run here: it becomes a pending action and the turn ends.

mod act;
mod decide;
mod expiry;
pub mod history;
mod media;
pub mod prompt;

pub use crate::tools::{SET_BUDGET, SET_ROLE};
pub use decide::{Decided, DecidedBy};

use crate::budget::{BudgetError, Budgets, Limits, Spent};
pub use crate::chat::Turn;
use crate::llm::{ChatMessage, ImagePart, Llm, LlmError};
use crate::onlyfans::accounts::AccountsCache;
use crate::onlyfans::client::ApiError;
use crate::onlyfans::client::OnlyFansClient;
use crate::store::{
    MessageRole, PendingAction, SharedStore, StoreError, StoredMessage, StoredToolCall,
};
use crate::tools::trim_result;
use crate::tools::{Registry, ToolContext};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A budget is spent: no model call was made. The text is the plain answer.
    #[error(transparent)]
    Budget(#[from] Spent),
    /// The OnlyFansAPI key is missing or refused: the turn ends rather than ask the model
    /// to work around a key that will not work until someone changes it.
    #[error(transparent)]
    Api(#[from] crate::onlyfans::client::ApiError),
}

/// Settings of the loop, from `[agent]` and `timezone`.
#[derive(Debug, Clone)]
pub struct AgentSettings {
    pub max_steps: u32,
    pub history_tokens: u32,
    pub tool_result_chars: usize,
    pub confirm_ttl: Duration,
    pub tz: chrono_tz::Tz,
    /// What time it is (expiry of pending actions is judged by it).
    pub clock: crate::clock::Clock,
}

/// How a turn ended.
#[derive(Debug, Clone)]
pub enum TurnOutcome {
    /// The final text, with any files the tools attached.
    Answer(String, Vec<crate::tools::Attachment>),
    /// A write waits for a person; `text` is what the model said alongside, if anything.
    NeedsConfirmation {
        action: Box<PendingAction>,
        text: Option<String>,
    },
}

/// Called once, when the model first asks for a tool ("On it…").
pub type Progress<'a> = &'a (dyn Fn() + Send + Sync);

/// The loop and everything it reaches. Built once from its [`AgentParts`]; nothing
/// outside reaches into it, so the only ways in are its turns and decisions.
pub struct Agent {
    llm: Arc<Llm>,
    registry: Arc<Registry>,
    store: SharedStore,
    client: Arc<OnlyFansClient>,
    accounts: Arc<AccountsCache>,
    settings: AgentSettings,
    tasks: Option<Arc<dyn crate::tasks::TaskBook>>,
    budgets: Arc<Budgets>,
    /// When the expiry sweep has nothing to do.
    expiry: expiry::ExpiryWatch,
}

/// What an [`Agent`] is built from.
pub struct AgentParts {
    pub llm: Arc<Llm>,
    pub registry: Arc<Registry>,
    pub store: SharedStore,
    pub client: Arc<OnlyFansClient>,
    pub accounts: Arc<AccountsCache>,
    pub settings: AgentSettings,
    /// What the task tools manage (the scheduler); None where nothing schedules.
    pub tasks: Option<Arc<dyn crate::tasks::TaskBook>>,
    /// Checked before every model call.
    pub budgets: Arc<Budgets>,
}

impl Agent {
    pub fn new(parts: AgentParts) -> Agent {
        let AgentParts {
            llm,
            registry,
            store,
            client,
            accounts,
            settings,
            tasks,
            budgets,
        } = parts;
        Agent {
            expiry: expiry::ExpiryWatch::new(settings.confirm_ttl),
            llm,
            registry,
            store,
            client,
            accounts,
            settings,
            tasks,
            budgets,
        }
    }

    /// What time it is, as the agent judges expiry.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.settings.clock
    }

    /// The team's time zone.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.settings.tz
    }

    /// The budgets checked before every model call.
    pub fn budgets(&self) -> &Arc<Budgets> {
        &self.budgets
    }

    /// What a run of a workflow that follows `skill` adds to its prompt.
    pub fn playbook_for_run(&self, skill: &str) -> Option<String> {
        self.registry.playbook_for_run(skill)
    }

    /// The model alias a turn asking for `alias` runs on (the default when None).
    pub fn resolve_model<'a>(&'a self, alias: Option<&'a str>) -> Result<&'a str, LlmError> {
        self.llm.resolve(alias)
    }

    /// How often OnlyFansAPI requests had to wait for a rate limit.
    pub fn api_waits(&self) -> crate::onlyfans::rate_budget::Waits {
        self.client.waits()
    }

    /// What the tools of `turn` may use, tagged with who it runs for.
    fn tool_context(&self, turn: &Turn) -> ToolContext {
        ToolContext {
            client: self.client.clone(),
            accounts: self.accounts.clone(),
            store: self.store.clone(),
            tags: turn.tags.clone(),
            model: Some(
                self.llm
                    .resolve(turn.model.as_deref())
                    .unwrap_or_default()
                    .to_string(),
            ),
            attachments: Default::default(),
            refused: Default::default(),
            tasks: self.tasks.clone(),
            role: turn.role,
            budgets: self.budgets.clone(),
        }
    }

    /// A new message from a person, answered.
    pub async fn ask(
        &self,
        turn: &Turn,
        text: &str,
        progress: Progress<'_>,
    ) -> Result<TurnOutcome, AgentError> {
        self.ask_with(turn, text, &[], progress).await
    }

    /// [`Agent::ask`] with pictures the person sent beside the words: shown to the model
    /// with the question on every step of this turn (the history keeps only the words).
    pub async fn ask_with(
        &self,
        turn: &Turn,
        text: &str,
        images: &[ImagePart],
        progress: Progress<'_>,
    ) -> Result<TurnOutcome, AgentError> {
        self.llm.resolve(turn.model.as_deref())?;
        let message = stored(MessageRole::User, Some(text.to_string()), Vec::new(), None);
        // The history before the question, then the question: both orders are fixed, so
        // the list the model sees matches what is stored.
        let mut history = self.history(turn).await?;
        self.store
            .append_messages(&turn.conversation, std::slice::from_ref(&message))
            .await?;
        history.push(message);
        self.run(turn, history, images, progress).await
    }

    /// Continues a turn after a pending action was decided and its result stored.
    pub async fn resume(
        &self,
        turn: &Turn,
        progress: Progress<'_>,
    ) -> Result<TurnOutcome, AgentError> {
        let history = self.history(turn).await?;
        self.run(turn, history, &[], progress).await
    }

    /// What of the conversation's history can reach the model this turn (what the turn
    /// adds only pushes older messages out, never brings them back).
    async fn history(&self, turn: &Turn) -> Result<Vec<StoredMessage>, AgentError> {
        let budget = self.settings.history_tokens;
        Ok(self
            .store
            .history_within(&turn.conversation, budget, HISTORY_ROWS)
            .await?)
    }

    /// `history` is loaded once per turn; what the turn stores is appended to it too.
    async fn run(
        &self,
        turn: &Turn,
        mut history: Vec<StoredMessage>,
        images: &[ImagePart],
        progress: Progress<'_>,
    ) -> Result<TurnOutcome, AgentError> {
        let ctx = self.tool_context(turn);
        // Read once a turn: the budgets that bind it and the tools' notes (installed
        // skills) stay as they were when it started.
        let limits = self.budgets.limits_for(&turn.tags).await?;
        let notes = self.registry.prompt_notes(&ctx).await;
        let mut announced = false;
        for _ in 0..self.settings.max_steps {
            self.check_budget(turn, limits).await?;
            let messages = self.prompt(turn, &ctx, &notes, &history, images).await?;
            let reply = self
                .llm
                .complete(
                    turn.model.as_deref(),
                    &messages,
                    self.registry.specs_for(turn.role),
                    &turn.tags,
                )
                .await?;
            if reply.tool_calls.is_empty() {
                let text = reply
                    .content
                    .unwrap_or_else(|| "(The model gave an empty answer.)".into());
                return self.answer(turn, &ctx, limits, text).await;
            }
            if !announced {
                progress();
                announced = true;
            }
            if let Some(waiting) = self.act(turn, &ctx, reply, &mut history).await? {
                return Ok(self.awaiting(turn, limits, waiting).await);
            }
        }
        let text = format!(
            "I stopped after {} steps without a final answer. Try asking for something narrower.",
            self.settings.max_steps
        );
        self.answer(turn, &ctx, limits, text).await
    }

    /// Ends the turn with `text`: stored as the model's answer, then shown with the
    /// changes an unattended run was refused and the budget warnings due.
    async fn answer(
        &self,
        turn: &Turn,
        ctx: &ToolContext,
        limits: Limits,
        text: String,
    ) -> Result<TurnOutcome, AgentError> {
        let answer = stored(MessageRole::Assistant, Some(text.clone()), Vec::new(), None);
        self.store
            .append_messages(&turn.conversation, &[answer])
            .await?;
        let text = self
            .with_budget_notes(turn, limits, with_refusals(text, ctx))
            .await;
        Ok(TurnOutcome::Answer(text, ctx.take_attachments()))
    }

    /// Ends the turn on a write that waits for a person: what the model said alongside,
    /// followed by the budget warnings due.
    async fn awaiting(&self, turn: &Turn, limits: Limits, waiting: act::Waiting) -> TurnOutcome {
        let act::Waiting { action, text } = waiting;
        let notes = self.with_budget_notes(turn, limits, String::new()).await;
        let text = match (text, notes.trim()) {
            (text, "") => text,
            (Some(text), notes) => Some(format!("{text}\n\n{notes}")),
            (None, notes) => Some(notes.to_string()),
        };
        TurnOutcome::NeedsConfirmation { action, text }
    }

    /// Refuses the next model call when a budget is spent. The refusal is stored as the
    /// turn's answer, so the history reads as the person saw it.
    async fn check_budget(&self, turn: &Turn, limits: Limits) -> Result<(), AgentError> {
        match self.budgets.check_within(&turn.tags, limits).await {
            Ok(()) => Ok(()),
            Err(BudgetError::Store(e)) => Err(e.into()),
            Err(BudgetError::Spent(spent)) => {
                let answer = stored(
                    MessageRole::Assistant,
                    Some(spent.to_string()),
                    Vec::new(),
                    None,
                );
                self.store
                    .append_messages(&turn.conversation, &[answer])
                    .await?;
                Err(AgentError::Budget(spent))
            }
        }
    }

    /// `text` followed by the budget warnings due after this turn, if any. A warning that
    /// cannot be worked out is logged: it never costs the person their answer.
    async fn with_budget_notes(&self, turn: &Turn, limits: Limits, text: String) -> String {
        match self.budgets.warnings_within(&turn.tags, limits).await {
            Ok(notes) if notes.is_empty() => text,
            Ok(notes) if text.is_empty() => notes.join("\n\n"),
            Ok(notes) => format!("{text}\n\n{}", notes.join("\n\n")),
            Err(e) => {
                tracing::warn!(error = %e, "could not check the budget warnings");
                text
            }
        }
    }

    /// The system prompt plus the history that fits the budget.
    async fn prompt(
        &self,
        turn: &Turn,
        ctx: &ToolContext,
        notes: &str,
        stored: &[StoredMessage],
        images: &[ImagePart],
    ) -> Result<Vec<ChatMessage>, AgentError> {
        let accounts = match ctx.accounts().await {
            Err(e) if e.api_key_problem().is_some() => {
                let problem = e.api_key_problem().cloned().expect("checked just above");
                return Err(self.end_on_key_problem(turn, problem).await);
            }
            other => other.map_err(|e| e.to_string()),
        };
        let facts = prompt::PromptFacts {
            now: self.settings.clock.now(),
            tz: self.settings.tz,
            platform: &turn.tags.platform,
            accounts: accounts
                .as_ref()
                .map(|a| a.as_slice())
                .map_err(Clone::clone),
            unattended: turn.unattended,
            notes,
        };
        // The pictures take their share of the history's budget.
        let seen: u32 = images.iter().map(|i| i.tokens).sum();
        let budget = self.settings.history_tokens.saturating_sub(seen);
        let kept = history::fit(stored, budget);
        let mut messages = vec![ChatMessage::system(prompt::system_prompt(&facts))];
        messages.extend(history::to_wire(&kept));
        if !images.is_empty() {
            if let Some(question) = messages.iter_mut().rev().find(|m| m.role == "user") {
                question.images = images.to_vec();
            }
        }
        // Last: it changes every minute, and what follows it would miss a prompt cache.
        messages.push(ChatMessage::system(prompt::time_note(facts.now, facts.tz)));
        Ok(messages)
    }

    /// Stores the key problem as the turn's answer, so the history reads as the person
    /// saw it, and hands it back as the turn's error.
    async fn end_on_key_problem(&self, turn: &Turn, problem: ApiError) -> AgentError {
        tracing::warn!(conversation = %turn.conversation, error = %problem, "turn ended: the OnlyFansAPI key does not work");
        let text = format!("Sorry, I could not answer: {problem}.");
        let answer = stored(MessageRole::Assistant, Some(text), Vec::new(), None);
        if let Err(e) = self
            .store
            .append_messages(&turn.conversation, &[answer])
            .await
        {
            return e.into();
        }
        problem.into()
    }

    /// Cuts an oversized tool result and says so, so the model does not mistake it for all of it.
    fn trim(&self, text: String) -> String {
        trim_result(text, self.settings.tool_result_chars)
    }
}

/// An unattended run's answer says which changes it was refused, so the run record and
/// the delivered message show them whatever the model wrote.
fn with_refusals(text: String, ctx: &ToolContext) -> String {
    let refused = ctx.take_refusals();
    if refused.is_empty() {
        return text;
    }
    let list: Vec<String> = refused.iter().map(|s| format!("- {s}")).collect();
    format!(
        "{text}\n\nNot done: this run is unattended and these changes need a person's confirmation:\n{}",
        list.join("\n")
    )
}

/// How many stored rows are loaded before fitting the token budget.
const HISTORY_ROWS: usize = 400;

pub fn stored(
    role: MessageRole,
    content: Option<String>,
    tool_calls: Vec<StoredToolCall>,
    tool_call_id: Option<String>,
) -> StoredMessage {
    let mut message = StoredMessage {
        role,
        content,
        tool_calls,
        tool_call_id,
        tokens: 0,
    };
    message.tokens = history::message_tokens(&message);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_with_a_note() {
        let out = trim_result("x".repeat(2000), 500);
        assert!(out.starts_with(&"x".repeat(500)));
        assert!(out.contains("showing 500 of 2000 characters"));
        assert_eq!(trim_result("short".into(), 500), "short");
    }
}
