//! One model reply's tool calls: each is planned, the reads run concurrently, each write
//! goes to the gate (the first may wait for a person), and the reply is stored with
//! every result in one write.

use super::{stored, Agent, AgentError};
use crate::chat::Turn;
use crate::llm::{ModelReply, ToolCall};
use crate::onlyfans::client::ApiError;
use crate::store::{MessageRole, PendingAction, StoredMessage, StoredToolCall};
use crate::tools::gate::{self, PlannedWrite, Submitted};
use crate::tools::{Plan, Planned, ToolContext};
use serde_json::Value;

/// A write that waits for a person, and what the model said alongside it.
pub(super) struct Waiting {
    pub action: Box<PendingAction>,
    pub text: Option<String>,
}

/// A call parsed and planned, or the error the model reads as its result.
type Planning = Result<(Value, Planned), String>;

impl Agent {
    /// Runs the reads of one model reply concurrently and gates its writes. Returns the
    /// write that waits when the turn must end here.
    pub(super) async fn act(
        &self,
        turn: &Turn,
        ctx: &ToolContext,
        reply: ModelReply,
        history: &mut Vec<StoredMessage>,
    ) -> Result<Option<Waiting>, AgentError> {
        let calls = &reply.tool_calls;
        // Stored together with the results below, in one write: a tool call is never
        // stored without its result, even if the process stops while tools run.
        let assistant = stored(
            MessageRole::Assistant,
            reply.content.clone(),
            stored_calls(calls),
            None,
        );
        let mut plans = Vec::with_capacity(calls.len());
        for call in calls {
            plans.push(self.plan(call, ctx).await);
        }
        let (results, key_problem) = self.run_reads(calls, &plans, ctx).await;
        let (results, pending) = self.gate_writes(turn, ctx, calls, &plans, results).await?;
        let mut messages = Vec::with_capacity(results.len() + 1);
        messages.push(assistant);
        for (call, content) in calls.iter().zip(results) {
            let id = Some(call.id.clone());
            messages.push(stored(MessageRole::Tool, Some(content), Vec::new(), id));
        }
        self.store
            .append_messages(&turn.conversation, &messages)
            .await?;
        history.extend(messages);
        if let Some(problem) = key_problem {
            return Err(self.end_on_key_problem(turn, problem).await);
        }
        Ok(pending.map(|action| Waiting {
            action: Box::new(action),
            text: reply.content,
        }))
    }

    /// The result of each call in order, the reads run concurrently (a write's place is
    /// left empty for the gate), and the first OnlyFansAPI key problem among them.
    async fn run_reads(
        &self,
        calls: &[ToolCall],
        plans: &[Planning],
        ctx: &ToolContext,
    ) -> (Vec<String>, Option<ApiError>) {
        let runs = calls.iter().zip(plans).map(|(call, planning)| async move {
            match planning {
                Ok((args, planned)) if planned.plan == Plan::Read => {
                    self.run_read(call, args, ctx).await
                }
                Ok(_) => (String::new(), None),
                Err(message) => (message.clone(), None),
            }
        });
        let mut key_problem = None;
        let results = futures::future::join_all(runs)
            .await
            .into_iter()
            .map(|(content, problem)| {
                key_problem = key_problem.take().or(problem);
                content
            })
            .collect();
        (results, key_problem)
    }

    /// Hands each write to the gate in order, with what its tool prepared: the first may
    /// wait for a person, the ones after it are refused meanwhile. The gate's answers
    /// fill the writes' places in `results`.
    async fn gate_writes(
        &self,
        turn: &Turn,
        ctx: &ToolContext,
        calls: &[ToolCall],
        plans: &[Planning],
        mut results: Vec<String>,
    ) -> Result<(Vec<String>, Option<PendingAction>), AgentError> {
        let mut pending = None;
        for ((call, planning), content) in calls.iter().zip(plans).zip(results.iter_mut()) {
            let Ok((args, planned)) = planning else {
                continue;
            };
            let Plan::Write { summary } = &planned.plan else {
                continue;
            };
            let write = PlannedWrite {
                call,
                args,
                summary,
                prepared: planned.prepared.as_ref(),
            };
            let now = self.settings.clock.now();
            let ttl = self.settings.confirm_ttl;
            let (store, registry) = (&self.store, &self.registry);
            let waiting = pending.is_some();
            *content =
                match gate::submit(store, registry, ctx, turn, &write, waiting, ttl, now).await? {
                    Submitted::Done(text) => text,
                    Submitted::Waiting(action, note) => {
                        pending = Some(*action);
                        note
                    }
                };
        }
        Ok((results, pending))
    }

    /// Parses and plans one call; an error becomes the tool result the model sees.
    async fn plan(&self, call: &ToolCall, ctx: &ToolContext) -> Planning {
        let raw = if call.function.arguments.trim().is_empty() {
            "{}"
        } else {
            &call.function.arguments
        };
        let args: Value = serde_json::from_str(raw).map_err(|e| {
            format!(
                "Error: the arguments of {} are not valid JSON ({e}).",
                call.function.name
            )
        })?;
        match self.registry.plan(&call.function.name, &args, ctx).await {
            Ok(planned) => Ok((args, planned)),
            Err(e) => Err(format!("Error: {e}")),
        }
    }

    /// The result the model reads, and the OnlyFansAPI key problem that ends the turn.
    async fn run_read(
        &self,
        call: &ToolCall,
        args: &Value,
        ctx: &ToolContext,
    ) -> (String, Option<ApiError>) {
        match self.registry.run_read(&call.function.name, args, ctx).await {
            Ok(value) => (self.trim(value.to_string()), None),
            Err(e) => (format!("Error: {e}"), e.api_key_problem().cloned()),
        }
    }
}

/// The calls of a reply as the history stores them.
fn stored_calls(calls: &[ToolCall]) -> Vec<StoredToolCall> {
    calls
        .iter()
        .map(|c| StoredToolCall {
            id: c.id.clone(),
            name: c.function.name.clone(),
            arguments: c.function.arguments.clone(),
        })
        .collect()
}
