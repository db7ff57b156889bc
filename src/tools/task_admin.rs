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
use crate::tasks::workflow::{list_or_none, Deliver, Workflow, WorkflowDocument, CHANNELS};
use crate::tasks::TaskBook;
use crate::tasks::{self, describe};
use async_trait::async_trait;
use chrono::Utc;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The remembered zone of a user, from the last task they created.
fn zone_key(ctx: &ToolContext) -> String {
    format!("user.timezone.{}:{}", ctx.tags.platform, ctx.tags.user)
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

/// Where a task posts: the named chat, or else the chat this conversation is in.
fn destination(tool: &str, args: &Value, ctx: &ToolContext) -> Result<Deliver, ToolError> {
    let channel = optional_str(tool, args, "channel")?.unwrap_or(&ctx.tags.platform);
    let here = (channel == ctx.tags.platform)
        .then(|| current_chat(ctx))
        .flatten();
    let Some(to) = optional_str(tool, args, "to")?.map(str::to_string).or(here) else {
        return Err(ToolError::bad(
            tool,
            format!(
                "say where the task should post: `channel` ({}) and `to` (the chat id). Ask the user if they did not say.",
                CHANNELS.join(", ")
            ),
        ));
    };
    Ok(Deliver {
        channel: channel.to_string(),
        to,
    })
}

/// The chat of this conversation (`telegram:<chat>:<thread>`), on a platform tasks post to.
fn current_chat(ctx: &ToolContext) -> Option<String> {
    let conversation = ctx.tags.conversation.as_deref()?;
    let rest = conversation.strip_prefix(&format!("{}:", ctx.tags.platform))?;
    let chat = rest.rsplit_once(':').map_or(rest, |(chat, _)| chat);
    (CHANNELS.contains(&ctx.tags.platform.as_str()) && !chat.is_empty()).then(|| chat.to_string())
}

fn deliver_words(deliver: &Deliver, ctx: &ToolContext) -> String {
    if deliver.channel == ctx.tags.platform && Some(deliver.to.clone()) == current_chat(ctx) {
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
        if CHANNELS.contains(&deliver.channel.as_str())
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

// ----- create_task ---------------------------------------------------------------------

pub struct CreateTask;

/// A new task, resolved from the arguments (and a template, when named).
struct Draft {
    document: WorkflowDocument,
    /// The document as stored (the same whatever id the task gets).
    text: String,
    workflow: Workflow,
    summary: String,
}

impl CreateTask {
    async fn draft(&self, args: &Value, ctx: &ToolContext) -> Result<Draft, ToolError> {
        let tool = self.name();
        admin_only(tool, ctx)?;
        let scheduler = scheduler(tool, ctx)?;
        let name = super::arg_str(tool, args, "name")?.trim().to_string();
        let template = match optional_str(tool, args, "template")? {
            Some(t) => Some(find(tool, scheduler.as_ref(), t)?),
            None => None,
        };
        let trigger = match (trigger_arg(tool, args)?, &template) {
            (Some(t), _) => Some(t),
            (None, Some(t)) => t.trigger_spec.clone(),
            (None, None) => None,
        };
        if let Some(trigger) = trigger {
            return self.draft_rule(args, ctx, name, template, trigger).await;
        }
        let prompt = match (optional_str(tool, args, "prompt")?, &template) {
            (Some(p), _) => p.to_string(),
            (None, Some(t)) => t.prompt.clone(),
            (None, None) => {
                return Err(ToolError::bad(
                    tool,
                    "`prompt` is required: say in full what the task should do on each run, or name a workflow `template`",
                ))
            }
        };
        let mut schedule = match (schedule_arg(tool, args)?, &template) {
            (Some(s), _) => s,
            (None, Some(t)) => t.schedule_spec.clone(),
            (None, None) => {
                return Err(ToolError::bad(
                    tool,
                    "`schedule` is required: when should the task run? Ask the user if they did not say.",
                ))
            }
        };
        let zone = optional_str(tool, args, "timezone")?.or(schedule.timezone.as_deref());
        let Some(zone) = zone.map(str::to_string) else {
            let remembered = ctx.store.state(&zone_key(ctx)).await?;
            let hint = remembered
                .map(|z| format!(" Their last task used {z}; if they confirm that, pass it."))
                .unwrap_or_default();
            return Err(ToolError::bad(
                tool,
                format!(
                    "no time zone given. Ask the user which time zone the schedule is in (an IANA name such as Europe/London; the team's zone is {}) unless they already said, then call again with `timezone`.{hint}",
                    scheduler.known().default_tz.name()
                ),
            ));
        };
        schedule.timezone = Some(zone);
        let deliver = destination(tool, args, ctx)?;
        let document = WorkflowDocument {
            name: name.clone(),
            description: template
                .as_ref()
                .map(|t| t.description.clone())
                .unwrap_or_default(),
            category: optional_str(tool, args, "category")?
                .map(str::to_string)
                .or_else(|| template.as_ref().map(|t| t.category.clone()))
                .unwrap_or_else(|| "Reports".into()),
            skill: template.as_ref().and_then(|t| t.skill.clone()),
            model: optional_str(tool, args, "model")?
                .map(str::to_string)
                .or_else(|| template.as_ref().and_then(|t| t.model.clone())),
            prompt,
            schedule: Some(schedule),
            trigger: None,
            deliver: Some(deliver.clone()),
            permissions: Default::default(),
        };
        let (text, workflow) = validated(tool, scheduler.as_ref(), "new-task", &document)?;
        let summary = format!(
            "create the scheduled task “{name}”, {schedule}, posting to {to}; first run {first}. Each run: “{what}”",
            schedule = describe(&workflow.schedule_spec, workflow.schedule.tz.name()),
            to = deliver_words(&deliver, ctx),
            first = next_run_words(&workflow),
            what = short(&workflow.prompt, 160),
        );
        Ok(Draft {
            document,
            text,
            workflow,
            summary,
        })
    }
}

impl CreateTask {
    /// An event alert: a task with a trigger instead of a schedule (no time zone needed).
    async fn draft_rule(
        &self,
        args: &Value,
        ctx: &ToolContext,
        name: String,
        template: Option<Workflow>,
        trigger: TriggerSpec,
    ) -> Result<Draft, ToolError> {
        let tool = self.name();
        let scheduler = scheduler(tool, ctx)?;
        let deliver = destination(tool, args, ctx)?;
        let prompt = optional_str(tool, args, "prompt")?
            .map(str::to_string)
            .or_else(|| template.as_ref().map(|t| t.prompt.clone()))
            .unwrap_or_default();
        let document = WorkflowDocument {
            name: name.clone(),
            description: template
                .as_ref()
                .map(|t| t.description.clone())
                .unwrap_or_default(),
            category: optional_str(tool, args, "category")?
                .map(str::to_string)
                .unwrap_or_else(|| "Alerts".into()),
            skill: template.as_ref().and_then(|t| t.skill.clone()),
            model: optional_str(tool, args, "model")?
                .map(str::to_string)
                .or_else(|| template.as_ref().and_then(|t| t.model.clone())),
            prompt,
            schedule: None,
            trigger: Some(trigger),
            deliver: Some(deliver.clone()),
            permissions: Default::default(),
        };
        let (text, workflow) = validated(tool, scheduler.as_ref(), "new-task", &document)?;
        let what = match workflow.trigger.as_ref().map(|t| &t.action) {
            Some(RuleAction::Template(t)) => format!("posts “{}”", short(t, 120)),
            _ => format!("runs “{}”", short(&workflow.prompt, 120)),
        };
        let summary = format!(
            "create the event alert “{name}”, {when}, posting to {to}; each time it {what}",
            when = tasks::when(&workflow),
            to = deliver_words(&deliver, ctx),
        );
        Ok(Draft {
            document,
            text,
            workflow,
            summary,
        })
    }
}

/// The `trigger` argument: the keys of a rule file's `[trigger]` table.
fn trigger_arg(tool: &str, args: &Value) -> Result<Option<TriggerSpec>, ToolError> {
    match args.get("trigger") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value::<TriggerSpec>(value.clone())
            .map(Some)
            .map_err(|e| {
                ToolError::bad(
                    tool,
                    format!("`trigger` is not a trigger ({e}); give e.g. {{\"event\": \"tip\", \"min_amount\": 50, \"template\": \"💸 {{fan_name}} tipped {{amount}} on {{account}}\"}}"),
                )
            }),
    }
}

/// Whether `id` is used by a workflow, a stored task, or the run history of a deleted one.
async fn id_taken(
    scheduler: &dyn TaskBook,
    ctx: &ToolContext,
    id: &str,
) -> Result<bool, ToolError> {
    if scheduler.workflows().iter().any(|w| w.id == id) {
        return Ok(true);
    }
    if ctx.store.stored_tasks().await?.iter().any(|t| t.id == id) {
        return Ok(true);
    }
    Ok(!ctx.store.recent_runs(id, 1).await?.is_empty())
}

#[async_trait]
impl Tool for CreateTask {
    fn name(&self) -> &'static str {
        "create_task"
    }

    fn admin_only(&self) -> bool {
        true
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Run a prompt on a schedule and post the answer (default: here). Ask the time zone if unknown; then offer a run_task preview. Alerts: trigger, not schedule.",
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "prompt": {"type": "string", "description": "What each run does, in full"},
                "schedule": schedule_schema(),
                "timezone": {"type": "string", "description": "IANA zone"},
                "template": {"type": "string", "description": "Workflow template"},
                "channel": {"type": "string", "enum": CHANNELS},
                "to": {"type": "string", "description": "Chat id"},
                "model": {"type": "string"},
                "category": {"type": "string"},
                "trigger": trigger_schema()
            }, "required": ["name"]}),
        )
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        let draft = self.draft(args, ctx).await?;
        Ok(Plan::Write {
            summary: capitalised(&draft.summary),
        })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        confirmed(self.name(), &access)?;
        let draft = self.draft(args, ctx).await?;
        let scheduler = scheduler(self.name(), ctx)?;
        let by = format!("{}:{}", ctx.tags.platform, ctx.tags.user);
        let mut id = String::new();
        for _ in 0..3 {
            let candidate = stored::new_id(&draft.document.name, |c| async move {
                id_taken(scheduler.as_ref(), ctx, &c)
                    .await
                    .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))
            })
            .await?;
            if stored::insert(ctx.store.as_ref(), &candidate, &draft.text, &by, Utc::now()).await? {
                id = candidate;
                break;
            }
        }
        if id.is_empty() {
            return Err(ToolError::bad(
                self.name(),
                "could not find a free id for the task; try another name",
            ));
        }
        if let Some(zone) = &draft.workflow.schedule_spec.timezone {
            ctx.store.set_state(&zone_key(ctx), zone).await?;
        }
        scheduler.refresh().await?;
        Ok(json!({
            "created": id,
            "name": draft.document.name,
            "schedule": tasks::when(&draft.workflow),
            "first_run": next_run_words(&draft.workflow),
            "posts_to": draft.document.deliver.as_ref().map(|d| deliver_words(d, ctx)),
            "next_step": format!("Tell the user it is set up and when it first runs, and offer to run it once now as a preview (run_task with name `{id}`)."),
        }))
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ----- update_task ---------------------------------------------------------------------

pub struct UpdateTask;

/// A stored task as it is, as it would be, and what changes in words.
struct Change {
    task: Workflow,
    /// The new document as stored.
    text: String,
    updated: Workflow,
    changes: Vec<String>,
}

impl UpdateTask {
    async fn change(&self, args: &Value, ctx: &ToolContext) -> Result<Change, ToolError> {
        let tool = self.name();
        admin_only(tool, ctx)?;
        let scheduler = scheduler(tool, ctx)?;
        let task = find(
            tool,
            scheduler.as_ref(),
            super::arg_str(tool, args, "name")?,
        )?;
        from_chat(tool, &task, "change")?;
        let stored_task = ctx
            .store
            .stored_tasks()
            .await?
            .into_iter()
            .find(|t| t.id == task.id)
            .ok_or_else(|| ToolError::bad(tool, format!("`{}` was just deleted", task.id)))?;
        let mut document = stored::document(&stored_task.definition)?;
        let mut changes = Vec::new();
        if let Some(new_name) = optional_str(tool, args, "new_name")? {
            changes.push(format!("name “{}” → “{new_name}”", document.name));
            document.name = new_name.to_string();
        }
        if let Some(prompt) = optional_str(tool, args, "prompt")? {
            changes.push(format!("each run: “{}”", short(prompt, 160)));
            document.prompt = prompt.to_string();
        }
        let old_schedule = describe(&task.schedule_spec, task.schedule.tz.name());
        let zone = optional_str(tool, args, "timezone")?.map(str::to_string);
        match schedule_arg(tool, args)? {
            Some(mut spec) => {
                spec.timezone = zone
                    .or(spec.timezone)
                    .or(task.schedule_spec.timezone.clone());
                document.schedule = Some(spec);
            }
            None if zone.is_some() => {
                if let Some(spec) = document.schedule.as_mut() {
                    spec.timezone = zone;
                }
            }
            None => {}
        }
        if args.get("channel").is_some() || args.get("to").is_some() {
            let deliver = destination(tool, args, ctx)?;
            changes.push(format!("posts to {}", deliver_words(&deliver, ctx)));
            document.deliver = Some(deliver);
        }
        if let Some(model) = optional_str(tool, args, "model")? {
            changes.push(format!("model {model}"));
            document.model = Some(model.to_string());
        }
        if let Some(category) = optional_str(tool, args, "category")? {
            changes.push(format!("category {category}"));
            document.category = category.to_string();
        }
        let (text, updated) = validated(tool, scheduler.as_ref(), &task.id, &document)?;
        let new_schedule = describe(&updated.schedule_spec, updated.schedule.tz.name());
        if new_schedule != old_schedule {
            changes.push(format!(
                "schedule {old_schedule} → {new_schedule}, next run {}",
                next_run_words(&updated)
            ));
        }
        if changes.is_empty() {
            return Err(ToolError::bad(
                tool,
                "nothing to change: give new_name, prompt, schedule, timezone, channel, to, model or category",
            ));
        }
        Ok(Change {
            task,
            text,
            updated,
            changes,
        })
    }
}

#[async_trait]
impl Tool for UpdateTask {
    fn name(&self) -> &'static str {
        "update_task"
    }

    fn admin_only(&self) -> bool {
        true
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Change a task made from chat: only given fields, as in create_task.",
            json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "new_name": {"type": "string"},
                "prompt": {"type": "string"},
                "schedule": {"type": "object"},
                "timezone": {"type": "string"},
                "channel": {"type": "string"},
                "to": {"type": "string"},
                "model": {"type": "string"},
                "category": {"type": "string"}
            }, "required": ["name"]}),
        )
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        let Change { task, changes, .. } = self.change(args, ctx).await?;
        Ok(Plan::Write {
            summary: format!(
                "Change the scheduled task “{}”: {}",
                task.name,
                changes.join("; ")
            ),
        })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        confirmed(self.name(), &access)?;
        let Change {
            task,
            text,
            updated,
            changes,
        } = self.change(args, ctx).await?;
        let scheduler = scheduler(self.name(), ctx)?;
        if !stored::update(ctx.store.as_ref(), &task.id, &text, Utc::now()).await? {
            return Err(ToolError::bad(
                self.name(),
                format!("`{}` no longer exists", task.id),
            ));
        }
        scheduler.refresh().await?;
        Ok(json!({
            "updated": task.id,
            "changes": changes,
            "schedule": describe(&updated.schedule_spec, updated.schedule.tz.name()),
            "next_run": next_run_words(&updated),
        }))
    }
}

// ----- pause_task, resume_task, delete_task ---------------------------------------------

/// What a one-argument task tool does.
#[derive(Clone, Copy, PartialEq)]
enum Verb {
    Pause,
    Resume,
    Delete,
}

async fn plan_verb(
    tool: &str,
    verb: Verb,
    args: &Value,
    ctx: &ToolContext,
) -> Result<(Arc<dyn TaskBook>, Workflow, String), ToolError> {
    admin_only(tool, ctx)?;
    let scheduler = scheduler(tool, ctx)?.clone();
    let task = find(
        tool,
        scheduler.as_ref(),
        super::arg_str(tool, args, "name")?,
    )?;
    let schedule = describe(&task.schedule_spec, task.schedule.tz.name());
    let paused = tasks::is_paused(ctx.store.as_ref(), &task.id).await?;
    let summary = match verb {
        Verb::Pause => {
            active(tool, &task)?;
            if paused {
                return Err(ToolError::bad(
                    tool,
                    format!("`{}` is already paused", task.id),
                ));
            }
            format!(
                "Pause the scheduled task “{}” ({schedule}); it will not run until resumed.",
                task.name
            )
        }
        Verb::Resume => {
            active(tool, &task)?;
            if !paused {
                return Err(ToolError::bad(tool, format!("`{}` is not paused", task.id)));
            }
            format!(
                "Resume the scheduled task “{}” ({schedule}); next run {}. Runs skipped while paused are not made up.",
                task.name,
                next_run_words(&task)
            )
        }
        Verb::Delete => {
            from_chat(tool, &task, "delete")?;
            let to = task
                .deliver
                .as_ref()
                .map(|d| deliver_words(d, ctx))
                .unwrap_or_default();
            format!(
                "Delete the scheduled task “{}” ({schedule}, posting to {to}). Its run history is kept.",
                task.name
            )
        }
    };
    Ok((scheduler, task, summary))
}

async fn run_verb(
    tool: &str,
    verb: Verb,
    args: &Value,
    ctx: &ToolContext,
    access: Access<'_>,
) -> Result<Value, ToolError> {
    confirmed(tool, &access)?;
    let (scheduler, task, _) = plan_verb(tool, verb, args, ctx).await?;
    let now = Utc::now();
    let done = match verb {
        Verb::Pause | Verb::Resume => {
            tasks::set_paused(ctx.store.as_ref(), &task.id, verb == Verb::Pause, now).await?;
            let mut out = Map::new();
            out.insert(
                if verb == Verb::Pause {
                    "paused"
                } else {
                    "resumed"
                }
                .into(),
                json!(task.id),
            );
            if verb == Verb::Resume {
                out.insert("next_run".into(), json!(next_run_words(&task)));
            }
            Value::Object(out)
        }
        Verb::Delete => {
            stored::delete(ctx.store.as_ref(), &task.id).await?;
            scheduler.refresh().await?;
            json!({"deleted": task.id, "name": task.name, "run_history": "kept"})
        }
    };
    Ok(done)
}

macro_rules! verb_tool {
    ($type:ident, $name:literal, $verb:expr, $description:literal) => {
        pub struct $type;

        #[async_trait]
        impl Tool for $type {
            fn name(&self) -> &'static str {
                $name
            }

            fn admin_only(&self) -> bool {
                true
            }

            fn spec(&self) -> ToolSpec {
                ToolSpec::new(
                    self.name(),
                    $description,
                    json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
                )
            }

            async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
                let (_, _, summary) = plan_verb(self.name(), $verb, args, ctx).await?;
                Ok(Plan::Write { summary })
            }

            async fn run(
                &self,
                args: &Value,
                ctx: &ToolContext,
                access: Access<'_>,
            ) -> Result<Value, ToolError> {
                run_verb(self.name(), $verb, args, ctx, access).await
            }
        }
    };
}

verb_tool!(
    PauseTask,
    "pause_task",
    Verb::Pause,
    "Pause a scheduled task."
);
verb_tool!(
    ResumeTask,
    "resume_task",
    Verb::Resume,
    "Resume a paused task."
);
verb_tool!(
    DeleteTask,
    "delete_task",
    Verb::Delete,
    "Delete a task created from chat."
);
