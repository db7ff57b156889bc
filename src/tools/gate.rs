//! The confirmation gate (DESIGN §4). A write becomes a stored pending action; only a
//! permitted operator or admin of the same conversation decides it, in one atomic store
//! update; a confirmed action runs exactly once, with its id as the idempotency key and
//! with what its tool prepared when it was proposed (kept with the pending action).

use super::{trim_result, Registry, ToolContext};
use crate::chat::{Role, Turn};
use crate::llm::tokens::estimate as count_tokens;
use crate::llm::ToolCall;
use crate::store::{
    ActionStatus, AuditEntry, DecideOutcome, Decision, PendingAction, SharedStore, StoreError,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use std::time::Duration;

/// Proof that a person confirmed an action. Only this module can create one, so a
/// write tool cannot be run from anywhere that did not pass through [`decide`].
pub struct Confirmation {
    action_id: String,
    /// What the tool prepared when the write was proposed, kept with the action.
    prepared: Option<Value>,
}

impl Confirmation {
    /// Also the `Idempotency-Key` of the request it authorises.
    pub fn action_id(&self) -> &str {
        &self.action_id
    }

    /// What the tool prepared for this run when it was planned (the request a person
    /// was asked about); the tool runs it as it is.
    pub fn prepared(&self) -> Option<&Value> {
        self.prepared.as_ref()
    }
}

/// A write as planned: the call that asked for it, its arguments, the summary a person
/// confirms and what its tool prepared for the run.
pub struct PlannedWrite<'a> {
    pub call: &'a ToolCall,
    pub args: &'a Value,
    pub summary: &'a str,
    pub prepared: Option<&'a Value>,
}

/// Stores a write as pending, with what its tool prepared, and returns it.
async fn propose(
    store: &SharedStore,
    turn: &Turn,
    write: &PlannedWrite<'_>,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<PendingAction, StoreError> {
    let PlannedWrite {
        call,
        args,
        summary,
        prepared,
    } = *write;
    let action = PendingAction {
        id: uuid::Uuid::new_v4().simple().to_string(),
        conversation: turn.conversation.clone(),
        platform: turn.tags.platform.clone(),
        requested_by: turn.tags.user.clone(),
        tool: call.function.name.clone(),
        tool_call_id: call.id.clone(),
        arguments: args.clone(),
        summary: summary.to_string(),
        status: ActionStatus::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10)),
        decided_by: None,
        decided_at: None,
        result: None,
        prepared: prepared.cloned(),
    };
    store.insert_action(&action).await?;
    audit(
        store,
        &action.requested_by,
        "action.proposed",
        &action,
        json!({"summary": summary}),
    )
    .await?;
    Ok(action)
}

/// What became of a write the model asked for.
pub enum Submitted {
    /// Run now (an unattended workflow allows it) or refused; the text is the result.
    Done(String),
    /// Stored as pending: a person decides. The text is what the model sees meanwhile.
    Waiting(Box<PendingAction>, String),
}

/// The one place that decides what happens to a write tool call: an unattended run makes
/// only the writes its workflow allows (audited, each with its own idempotency key) and
/// refuses the rest; in a conversation, one write at a time waits for a person.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    store: &SharedStore,
    registry: &Registry,
    ctx: &ToolContext,
    turn: &Turn,
    write: &PlannedWrite<'_>,
    already_waiting: bool,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Submitted, StoreError> {
    let endpoint = write
        .args
        .get("endpoint")
        .and_then(Value::as_str)
        .unwrap_or("");
    let allowed = write.call.function.name == "call_endpoint"
        && turn.allow_writes.iter().any(|e| e == endpoint);
    if turn.unattended && allowed {
        let task = turn.tags.task.as_deref().unwrap_or("unattended run");
        let text = run_allowed(store, registry, ctx, write, task).await?;
        return Ok(Submitted::Done(text));
    }
    if turn.unattended {
        ctx.refuse(write.summary);
        return Ok(Submitted::Done(
            "Refused: this is an unattended run and nobody can confirm changes. Nothing was changed.".into(),
        ));
    }
    if already_waiting {
        return Ok(Submitted::Done(
            "Not run: only one change can wait for confirmation at a time. Ask again after it is decided.".into(),
        ));
    }
    let action = propose(store, turn, write, ttl, now).await?;
    let note = awaiting_note(&action);
    Ok(Submitted::Waiting(Box::new(action), note))
}

/// Tool call ids of actions a command proposed (`/budget set …`): no model asked for them.
const COMMAND_CALL: &str = "command:";

/// Stores a write a chat command asked for as pending, after the same checks a model's
/// call gets (the tool plans it: arguments, role); a person confirms it like any other.
#[allow(clippy::too_many_arguments)]
pub async fn propose_command(
    store: &SharedStore,
    registry: &Registry,
    ctx: &ToolContext,
    turn: &Turn,
    tool: &str,
    args: &Value,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Result<PendingAction, String>, StoreError> {
    let (summary, prepared) = match registry.plan(tool, args, ctx).await {
        Ok(super::Planned {
            plan: super::Plan::Write { summary },
            prepared,
        }) => (summary, prepared),
        Ok(_) => return Ok(Err(format!("`{tool}` is not a change"))),
        Err(super::ToolError::Store(e)) => return Err(e),
        Err(e) => return Ok(Err(e.to_string())),
    };
    let call = ToolCall {
        id: format!("{COMMAND_CALL}{}", uuid::Uuid::new_v4().simple()),
        kind: "function".into(),
        function: crate::llm::FunctionCall {
            name: tool.to_string(),
            arguments: args.to_string(),
        },
    };
    let write = PlannedWrite {
        call: &call,
        args,
        summary: &summary,
        prepared: prepared.as_ref(),
    };
    propose(store, turn, &write, ttl, now).await.map(Ok)
}

/// Whether a command proposed `action` (so its result is the answer: no model resumes).
pub fn from_command(action: &PendingAction) -> bool {
    action.tool_call_id.starts_with(COMMAND_CALL)
}

/// The tool result the model sees while an action waits.
fn awaiting_note(action: &PendingAction) -> String {
    format!(
        "Waiting for a person to confirm (action {}). Nothing has been changed yet; the result will replace this note once it is decided.",
        action.id
    )
}

/// What a decision request came to, in words for the person.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Confirmed by this request: the caller now runs it with [`execute`].
    Run(PendingAction, Confirmation),
    Cancelled(PendingAction),
    Refused(String),
}

impl std::fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Confirmation({})", self.action_id)
    }
}

impl PartialEq for Confirmation {
    fn eq(&self, other: &Self) -> bool {
        self.action_id == other.action_id
    }
}

/// Who presses Confirm or Cancel, and where.
pub struct Decider<'a> {
    pub conversation: &'a str,
    pub user: &'a str,
    pub role: Role,
    /// The team's zone, for the times a refusal names.
    pub tz: Tz,
}

/// Decides an action for a person, atomically.
pub async fn decide(
    store: &SharedStore,
    registry: &Registry,
    decider: &Decider<'_>,
    action_id: &str,
    decision: Decision,
    now: DateTime<Utc>,
) -> Result<Verdict, StoreError> {
    let known = store.action(action_id).await?;
    if let Some(why) = refusal(registry, decider, known.as_ref()) {
        return Ok(Verdict::Refused(why));
    }
    match store.decide(action_id, decision, decider.user, now).await? {
        DecideOutcome::Decided(action) => decided(store, decider.user, decision, action).await,
        DecideOutcome::Unchanged(current) => {
            if current.status == ActionStatus::Pending && current.expires_at <= now {
                // Record it as expired, so the history stops saying it waits.
                expire_due(store, decider.conversation, now).await?;
            }
            Ok(Verdict::Refused(why_unchanged(&current, now, decider.tz)))
        }
        DecideOutcome::NotFound => Ok(Verdict::Refused("That request no longer exists.".into())),
    }
}

/// Why `decider` may not decide `known` at all (nothing is read or changed after this):
/// it is not an action of their conversation, or their role is too low for it.
fn refusal(
    registry: &Registry,
    decider: &Decider<'_>,
    known: Option<&PendingAction>,
) -> Option<String> {
    let Some(known) = known.filter(|a| a.conversation == decider.conversation) else {
        return Some(
            "I don't know that request here. It may belong to another conversation, or the button is not one of mine.".into(),
        );
    };
    if decider.role == Role::Viewer {
        return Some(
            "Only an operator or an admin can decide changes; your role is viewer. Nothing was changed.".into(),
        );
    }
    if registry.admin_only(&known.tool) && decider.role < Role::Admin {
        return Some(format!(
            "Only an admin can decide this change (tasks, skills, budgets); your role is {}. Nothing was changed.",
            decider.role.as_str()
        ));
    }
    None
}

/// What this request decided, audited; a confirmation carries what the tool prepared
/// when the action was proposed, so the run uses exactly that.
async fn decided(
    store: &SharedStore,
    user: &str,
    decision: Decision,
    action: PendingAction,
) -> Result<Verdict, StoreError> {
    let what = match decision {
        Decision::Confirm => "action.confirmed",
        Decision::Cancel => {
            crate::metrics::count(&crate::metrics::get().actions, "cancelled");
            "action.cancelled"
        }
    };
    audit(store, user, what, &action, json!({})).await?;
    Ok(match decision {
        Decision::Confirm => {
            let confirmation = Confirmation {
                action_id: action.id.clone(),
                prepared: action.prepared.clone(),
            };
            Verdict::Run(action, confirmation)
        }
        Decision::Cancel => Verdict::Cancelled(action),
    })
}

fn why_unchanged(action: &PendingAction, now: DateTime<Utc>, tz: Tz) -> String {
    let by = action.decided_by.as_deref().unwrap_or("someone");
    match action.status {
        ActionStatus::Pending if action.expires_at <= now => expired_answer(action, tz),
        ActionStatus::Expired => expired_answer(action, tz),
        ActionStatus::Pending => "This request could not be decided just now; try again.".into(),
        ActionStatus::Cancelled => {
            format!("This request was already cancelled by {by}. Nothing was changed.")
        }
        ActionStatus::Confirmed | ActionStatus::Executed | ActionStatus::Failed => {
            format!("This request was already confirmed by {by}; it runs only once.")
        }
    }
}

/// What a person is told about an action that expired undecided.
pub fn expired_answer(action: &PendingAction, tz: Tz) -> String {
    format!(
        "That request expired at {}; nothing was changed. Ask again if you still want it.",
        action.expires_at.with_timezone(&tz).format("%H:%M %Z")
    )
}

/// Replaces the note the model saw while `action` waited with how it ended, so the
/// history never says it still waits.
pub async fn settle(
    store: &SharedStore,
    action: &PendingAction,
    outcome: &str,
) -> Result<(), StoreError> {
    let tokens = count_tokens(outcome);
    store
        .replace_tool_result(&action.conversation, &action.tool_call_id, outcome, tokens)
        .await?;
    Ok(())
}

/// Moves the conversation's actions that expired undecided to `expired` and records it
/// in the history the model reads and in the audit log. Returns the ones it moved.
pub async fn expire_due(
    store: &SharedStore,
    conversation: &str,
    now: DateTime<Utc>,
) -> Result<Vec<PendingAction>, StoreError> {
    let expired = store.expire_actions(conversation, now).await?;
    for action in &expired {
        let note = format!(
            "Expired at {} UTC without a decision: nothing was run and nothing was changed.",
            action.expires_at.format("%Y-%m-%d %H:%M")
        );
        settle(store, action, &note).await?;
        crate::metrics::count(&crate::metrics::get().actions, "expired");
        audit(store, "fanops", "action.expired", action, json!({})).await?;
    }
    Ok(expired)
}

/// Runs a confirmed action exactly once and records how it ended.
/// Returns the text the model sees as the call's result.
pub async fn execute(
    store: &SharedStore,
    registry: &Registry,
    ctx: &ToolContext,
    action: &PendingAction,
    confirmation: Confirmation,
    result_chars: usize,
) -> Result<String, StoreError> {
    let outcome = registry
        .run_confirmed(&action.tool, &action.arguments, ctx, &confirmation)
        .await;
    let (status, text) = match outcome {
        Ok(value) => (
            ActionStatus::Executed,
            trim_result(value.to_string(), result_chars),
        ),
        Err(e) => (
            ActionStatus::Failed,
            format!("Error: confirmed, but it failed: {e}"),
        ),
    };
    store.finish_action(&action.id, status, &text).await?;
    crate::metrics::count(&crate::metrics::get().actions, status.as_str());
    audit(
        store,
        &ctx.tags.user,
        &format!("action.{}", status.as_str()),
        action,
        json!({}),
    )
    .await?;
    Ok(text)
}

async fn audit(
    store: &SharedStore,
    actor: &str,
    what: &str,
    action: &PendingAction,
    extra: Value,
) -> Result<(), StoreError> {
    store
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: actor.to_string(),
            action: what.to_string(),
            subject: Some(action.id.clone()),
            detail: json!({
                "conversation": action.conversation,
                "summary": action.summary,
                "tool": action.tool,
                "arguments": action.arguments,
                "extra": extra,
            }),
        })
        .await
}

/// Runs a write an unattended workflow lists in `allow_writes`: the workflow file is the
/// standing confirmation. Recorded in the audit log; its id is the idempotency key.
async fn run_allowed(
    store: &SharedStore,
    registry: &Registry,
    ctx: &ToolContext,
    write: &PlannedWrite<'_>,
    workflow: &str,
) -> Result<String, StoreError> {
    let confirmation = Confirmation {
        action_id: uuid::Uuid::new_v4().simple().to_string(),
        prepared: write.prepared.cloned(),
    };
    let tool = &write.call.function.name;
    let outcome = registry
        .run_confirmed(tool, write.args, ctx, &confirmation)
        .await;
    let (what, text) = match outcome {
        Ok(value) => ("action.allowed_by_workflow", value.to_string()),
        Err(e) => ("action.allowed_by_workflow_failed", format!("Error: {e}")),
    };
    store
        .audit(&AuditEntry {
            at: Utc::now(),
            actor: format!("workflow:{workflow}"),
            action: what.to_string(),
            subject: Some(confirmation.action_id.clone()),
            detail: json!({"summary": write.summary, "tool": tool, "arguments": write.args}),
        })
        .await?;
    Ok(text)
}
