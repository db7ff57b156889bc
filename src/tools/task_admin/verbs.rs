//! `pause_task`, `resume_task` and `delete_task`: one argument, one change.

use super::*;

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
        crate::tools::arg_str(tool, args, "name")?,
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
