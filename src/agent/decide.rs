//! A person's decision on a pending action, owned here from the press to the answer:
//! the gate decides (one atomic store update), a confirmed change runs once through the
//! gate's handle, its result is settled into the history, and the model resumes with it.
//! The core only routes the press here and renders what comes back.

use super::{Agent, AgentError, Progress, TurnOutcome};
use crate::chat::{Role, Turn};
use crate::store::{Decision, PendingAction};
use crate::tools::gate::{self, Verdict};
use serde_json::Value;

/// Who pressed, as the gate judges them.
pub struct DecidedBy<'a> {
    pub user: &'a str,
    /// How the person is named in the history ("Cancelled by …").
    pub user_name: &'a str,
    pub role: Role,
}

/// How a decision ended.
pub enum Decided {
    /// Nothing changed (a second press, an expired action, someone not allowed): why.
    Refused(String),
    Cancelled(Box<PendingAction>),
    /// A command proposed the change (not the model): its result is the answer.
    CommandRan {
        action: Box<PendingAction>,
        result: String,
    },
    /// The change ran and the model was asked to answer with its result.
    Ran {
        action: Box<PendingAction>,
        answer: Result<TurnOutcome, AgentError>,
    },
}

impl Agent {
    /// Decides `action_id` for `by`; a confirmed change runs exactly once. `progress` is
    /// called once the change starts running.
    pub async fn decide(
        &self,
        turn: &Turn,
        by: &DecidedBy<'_>,
        action_id: &str,
        decision: Decision,
        progress: Progress<'_>,
    ) -> Result<Decided, AgentError> {
        let decider = gate::Decider {
            conversation: &turn.conversation,
            user: by.user,
            role: by.role,
            tz: self.settings.tz,
        };
        let now = self.settings.clock.now();
        let verdict = gate::decide(
            &self.store,
            &self.registry,
            &decider,
            action_id,
            decision,
            now,
        )
        .await?;
        match verdict {
            Verdict::Refused(why) => Ok(Decided::Refused(why)),
            Verdict::Cancelled(action) => {
                let note = format!("Cancelled by {}; nothing was changed.", by.user_name);
                gate::settle(&self.store, &action, &note).await?;
                Ok(Decided::Cancelled(Box::new(action)))
            }
            Verdict::Run(action, confirmation) => {
                progress();
                let ctx = self.tool_context(turn);
                let limit = self.settings.tool_result_chars;
                let result = gate::execute(
                    &self.store,
                    &self.registry,
                    &ctx,
                    &action,
                    confirmation,
                    limit,
                )
                .await?;
                gate::settle(&self.store, &action, &result).await?;
                let action = Box::new(action);
                if gate::from_command(&action) {
                    let result = serde_json::from_str::<String>(&result).unwrap_or(result);
                    return Ok(Decided::CommandRan { action, result });
                }
                let quiet = || {};
                let answer = self.resume(turn, &quiet).await;
                Ok(Decided::Ran { action, answer })
            }
        }
    }

    /// A change a command asks for (not the model), waiting for a press like any other;
    /// `Err(why)` when the tool refuses it as asked.
    pub async fn propose_command(
        &self,
        turn: &Turn,
        tool: &str,
        args: &Value,
    ) -> Result<Result<PendingAction, String>, AgentError> {
        let ctx = self.tool_context(turn);
        let proposed = gate::propose_command(
            &self.store,
            &self.registry,
            &ctx,
            turn,
            tool,
            args,
            self.settings.confirm_ttl,
            self.settings.clock.now(),
        )
        .await?;
        Ok(proposed)
    }

    /// Records the conversation's actions that expired undecided, before anything reads
    /// its history, so the model never sees one as still waiting.
    /// Skipped, without a statement, while this process knows nothing can be due there
    /// (see [`super::expiry`]).
    pub async fn expire_due(&self, conversation: &str) -> Result<Vec<PendingAction>, AgentError> {
        let now = self.settings.clock.now();
        if !self.expiry.may_be_due(conversation, now) {
            return Ok(Vec::new());
        }
        let expired = gate::expire_due(&self.store, conversation, now).await?;
        self.expiry.note(now, self.store.pending_expiries().await?);
        Ok(expired)
    }

    /// What a "yes" to an action that just expired is told.
    pub fn expired_answer(&self, action: &PendingAction) -> String {
        gate::expired_answer(action, self.settings.tz)
    }
}
