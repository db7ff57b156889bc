//! `update_task`: a change to a task created from chat, shown as before and after.

use super::*;

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
    /// The task the arguments name, its document with the given fields changed, and the
    /// changes in words; an error when nothing would change.
    async fn change(&self, args: &Value, ctx: &ToolContext) -> Result<Change, ToolError> {
        let tool = self.name();
        admin_only(tool, ctx)?;
        let scheduler = scheduler(tool, ctx)?;
        let task = find(
            tool,
            scheduler.as_ref(),
            crate::tools::arg_str(tool, args, "name")?,
        )?;
        from_chat(tool, &task, "change")?;
        let mut document = stored_document(tool, ctx, &task).await?;
        let changes = apply(tool, args, ctx, &task, &mut document)?;
        let (text, updated) = validated(tool, scheduler.as_ref(), &task.id, &document)?;
        let changes = with_schedule_change(changes, &task, &updated);
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

/// The document of a task created from chat, as stored.
async fn stored_document(
    tool: &str,
    ctx: &ToolContext,
    task: &Workflow,
) -> Result<WorkflowDocument, ToolError> {
    let stored_task = ctx
        .store
        .stored_tasks()
        .await?
        .into_iter()
        .find(|t| t.id == task.id)
        .ok_or_else(|| ToolError::bad(tool, format!("`{}` was just deleted", task.id)))?;
    Ok(stored::document(&stored_task.definition)?)
}

/// Sets the fields the arguments give on `document`, returning the changes in words (a
/// schedule's change is told once the new one is validated).
fn apply(
    tool: &str,
    args: &Value,
    ctx: &ToolContext,
    task: &Workflow,
    document: &mut WorkflowDocument,
) -> Result<Vec<String>, ToolError> {
    let mut changes = Vec::new();
    if let Some(new_name) = optional_str(tool, args, "new_name")? {
        changes.push(format!("name “{}” → “{new_name}”", document.name));
        document.name = new_name.to_string();
    }
    if let Some(prompt) = optional_str(tool, args, "prompt")? {
        changes.push(format!("each run: “{}”", short(prompt, 160)));
        document.prompt = prompt.to_string();
    }
    reschedule(tool, args, task, document)?;
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
    Ok(changes)
}

/// Sets a new `schedule` and/or `timezone`: a new schedule keeps the task's zone unless
/// one is given; a zone alone moves the schedule the task has.
fn reschedule(
    tool: &str,
    args: &Value,
    task: &Workflow,
    document: &mut WorkflowDocument,
) -> Result<(), ToolError> {
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
    Ok(())
}

/// `changes`, with the schedule's change (and the next run) when `updated` runs at other
/// times than `task`.
fn with_schedule_change(
    mut changes: Vec<String>,
    task: &Workflow,
    updated: &Workflow,
) -> Vec<String> {
    let old_schedule = describe(&task.schedule_spec, task.schedule.tz.name());
    let new_schedule = describe(&updated.schedule_spec, updated.schedule.tz.name());
    if new_schedule != old_schedule {
        changes.push(format!(
            "schedule {old_schedule} → {new_schedule}, next run {}",
            next_run_words(updated)
        ));
    }
    changes
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
