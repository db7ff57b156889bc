//! `create_task`, `update_task`, `pause_task`, `resume_task` and `delete_task`: scheduled
//! tasks managed from chat. Each is a write, so a person confirms it first, and only an
//! admin may ask for one or confirm it. Tasks created here live in the store; tasks
//! defined by files can be paused and resumed, and are edited in their files.

use super::task_tools::scheduler;
use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::chat::Role;
use crate::llm::ToolSpec;
use crate::tasks::schedule::ScheduleSpec;
use crate::tasks::stored;
use crate::tasks::trigger::{RuleAction, TriggerSpec, EVENT_FACTS, EVENT_FIELDS};
use crate::tasks::workflow::{list_or_none, Deliver, Workflow, WorkflowDocument};
use crate::tasks::TaskBook;
use crate::tasks::{self, describe};
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{json, Map, Value};
use std::sync::Arc;

mod change;
mod create;
mod verbs;

pub use change::UpdateTask;
pub use create::CreateTask;
pub use verbs::{DeleteTask, PauseTask, ResumeTask};

/// The remembered zone of a user, from the last task they created.
fn zone_key(ctx: &ToolContext) -> String {
    format!("user.timezone.{}:{}", connection(ctx), ctx.tags.user)
}

fn admin_only(tool: &str, ctx: &ToolContext) -> Result<(), ToolError> {
    if ctx.tags.kind.is_unattended() {
        return Err(ToolError::bad(tool, "a scheduled run cannot manage tasks"));
    }
    if ctx.role < Role::Admin {
        return Err(ToolError::Forbidden(format!(
            "only an admin can manage scheduled tasks; this user's role is {}. Tell them so.",
            ctx.role.as_str()
        )));
    }
    Ok(())
}

fn confirmed(tool: &str, access: &Access<'_>) -> Result<(), ToolError> {
    match access {
        Access::Confirmed(_) => Ok(()),
        Access::Read(_) => Err(ToolError::NotConfirmed(tool.to_string())),
    }
}

fn find(tool: &str, scheduler: &dyn TaskBook, name: &str) -> Result<Workflow, ToolError> {
    tasks::find_or_list(&scheduler.workflows(), name)
        .map_err(|message| ToolError::bad(tool, message))
}

fn active(tool: &str, task: &Workflow) -> Result<(), ToolError> {
    if task.is_template() {
        return Err(ToolError::bad(
            tool,
            format!(
                "`{}` is a template, not a scheduled task; create a task from it with create_task and `template`",
                task.id
            ),
        ));
    }
    Ok(())
}

/// Only tasks created from chat are edited or deleted here; a file is edited where it is.
fn from_chat(tool: &str, task: &Workflow, verb: &str) -> Result<(), ToolError> {
    active(tool, task)?;
    if !task.from_chat {
        return Err(ToolError::bad(
            tool,
            format!(
                "`{}` is defined by {}; to {verb} it, change that file and reload (SIGHUP or restart). It can be paused from here.",
                task.id, task.origin
            ),
        ));
    }
    Ok(())
}

fn optional_str<'a>(tool: &str, args: &'a Value, name: &str) -> Result<Option<&'a str>, ToolError> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim())),
        Some(_) => Err(ToolError::bad(
            tool,
            format!("`{name}` must be a non-empty string"),
        )),
    }
}

/// The `schedule` argument: the keys of a workflow file's `[schedule]` table.
fn schedule_arg(tool: &str, args: &Value) -> Result<Option<ScheduleSpec>, ToolError> {
    match args.get("schedule") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value::<ScheduleSpec>(value.clone())
            .map(Some)
            .map_err(|e| {
                ToolError::bad(
                    tool,
                    format!("`schedule` is not a schedule ({e}); give one of {{\"daily\": \"08:00\"}}, {{\"weekly\": {{\"days\": [\"mon\"], \"at\": \"09:00\"}}}}, {{\"monthly\": {{\"day\": 1, \"at\": \"09:00\"}}}}, {{\"cron\": \"0 8 * * 1-5\"}} or {{\"every\": \"30m\"}}"),
                )
            }),
    }
}

/// The bot this conversation is on (`<platform>` or `<platform>:<account>`): where a task
/// made here posts unless told otherwise, and whom it is recorded as made by.
pub(super) fn connection(ctx: &ToolContext) -> &str {
    match ctx.tags.connection.as_str() {
        "" => ctx.tags.platform.as_str(),
        named => named,
    }
}

/// Where a task posts: the named chat, or else the chat this conversation is in.
fn destination(tool: &str, args: &Value, ctx: &ToolContext) -> Result<Deliver, ToolError> {
    let channel = optional_str(tool, args, "channel")?.unwrap_or(connection(ctx));
    let here = (channel == connection(ctx))
        .then(|| current_chat(ctx))
        .flatten();
    let Some(to) = optional_str(tool, args, "to")?.map(str::to_string).or(here) else {
        return Err(ToolError::bad(
            tool,
            format!(
                "say where the task should post: `channel` ({}) and `to` (the chat id). Ask the user if they did not say.",
                list_or_none(&delivers_to(ctx))
            ),
        ));
    };
    Ok(Deliver {
        channel: channel.to_string(),
        to,
    })
}

/// The connections tasks can post to (this build's platforms and configured accounts).
fn delivers_to(ctx: &ToolContext) -> Vec<String> {
    ctx.tasks
        .as_ref()
        .map(|tasks| tasks.known().channels.clone())
        .unwrap_or_default()
}

/// The chat of this conversation (`<connection>:<chat>:<thread>`), on a connection tasks
/// post to.
fn current_chat(ctx: &ToolContext) -> Option<String> {
    let conversation = ctx.tags.conversation.as_deref()?;
    let here = connection(ctx);
    let rest = conversation.strip_prefix(&format!("{here}:"))?;
    let chat = rest.rsplit_once(':').map_or(rest, |(chat, _)| chat);
    (delivers_to(ctx).iter().any(|c| c == here) && !chat.is_empty()).then(|| chat.to_string())
}

fn deliver_words(deliver: &Deliver, ctx: &ToolContext) -> String {
    if deliver.channel == connection(ctx) && Some(deliver.to.clone()) == current_chat(ctx) {
        "this chat".to_string()
    } else {
        format!("{} chat {}", deliver.channel, deliver.to)
    }
}

/// Checks the document as a workflow file would be checked, plus that its channel runs.
fn validated(
    tool: &str,
    scheduler: &dyn TaskBook,
    id: &str,
    document: &WorkflowDocument,
) -> Result<(String, Workflow), ToolError> {
    if let Some(deliver) = &document.deliver {
        let running = scheduler.channels();
        let running: Vec<&str> = running.iter().map(String::as_str).collect();
        if scheduler.known().channels.contains(&deliver.channel)
            && !running.contains(&deliver.channel.as_str())
        {
            return Err(ToolError::bad(
                tool,
                format!(
                    "the {} channel is not running here, so the task could not post; running: {}",
                    deliver.channel,
                    list_or_none(&running)
                ),
            ));
        }
    }
    stored::render(id, document, scheduler.known())
        .map_err(|problems| ToolError::bad(tool, problems))
}

/// "Mon 24 Nov 08:00 GMT", or "never".
fn next_run_words(task: &Workflow) -> String {
    task.schedule
        .next_after(Utc::now())
        .map(|at| {
            at.with_timezone(&task.schedule.tz)
                .format("%a %-d %b %Y %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|| match task.trigger {
            Some(_) => "when a matching event arrives".into(),
            None => "never".into(),
        })
}

fn short(text: &str, limit: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= limit {
        one_line
    } else {
        let cut: String = one_line.chars().take(limit).collect();
        format!("{cut}…")
    }
}

/// The shapes of `schedule`, told compactly (a wrong one gets every shape in full back).
const SCHEDULE_SHAPES: &str = r#"One key: daily "08:00", weekly {days: [mon], at}, monthly {day: 1-28, at}, cron (5 fields), every "30m""#;

fn schedule_schema() -> Value {
    json!({"type": "object", "description": SCHEDULE_SHAPES})
}

/// Every event kind and template name, space-separated: the cheapest way to list them.
fn trigger_schema() -> Value {
    let names: Vec<&str> = EVENT_FACTS.iter().chain(EVENT_FIELDS).copied().collect();
    json!({"type": "object", "description": format!(
        "Alert per event, instead of schedule: event ({}; or a list), min_amount (USD), accounts, cooldown (10m), batch (5m: one digest); then template (posted as is; {{name}} for {}) or prompt",
        crate::tasks::trigger::EventKind::names().join(" "),
        names.join(" ")
    )})
}
