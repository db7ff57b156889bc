//! `list_tasks` and `run_task`: the scheduled tasks, and a task run now as a preview.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::llm::ToolSpec;
use crate::tasks::{self, TaskBook};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn scheduler<'a>(
    tool: &str,
    ctx: &'a ToolContext,
) -> Result<&'a Arc<dyn TaskBook>, ToolError> {
    ctx.tasks
        .as_ref()
        .ok_or_else(|| ToolError::bad(tool, "the scheduler is not running"))
}

pub struct ListTasks;

#[async_trait]
impl Tool for ListTasks {
    fn name(&self) -> &'static str {
        "list_tasks"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Tasks and workflow templates: schedule, state, runs.",
            json!({"type": "object", "properties": {}}),
        )
    }

    async fn plan(&self, _args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        _args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let scheduler = scheduler(self.name(), ctx)?;
        let lines = tasks::list(
            ctx.store.as_ref(),
            &scheduler.workflows(),
            chrono::Utc::now(),
        )
        .await?;
        let rows: Vec<Value> = lines
            .iter()
            .map(|l| {
                json!({
                    "id": l.id, "name": l.name, "schedule": l.schedule, "state": l.state, "defined_in": l.source,
                    "last_run": l.last.as_ref().map(|r| json!({"at": r.scheduled_for.to_rfc3339(), "outcome": r.outcome()})),
                    "next_run": l.next.map(|n| n.to_rfc3339()),
                })
            })
            .collect();
        Ok(json!({ "tasks": rows }))
    }
}

pub struct RunTask;

#[async_trait]
impl Tool for RunTask {
    fn name(&self) -> &'static str {
        "run_task"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Preview a task or template now: output here, posts nothing.",
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        )
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        super::arg_str(self.name(), args, "name")?;
        if ctx.tags.kind.is_unattended() {
            return Err(ToolError::bad(
                self.name(),
                "a scheduled run cannot start another task",
            ));
        }
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let name = super::arg_str(self.name(), args, "name")?;
        let scheduler = scheduler(self.name(), ctx)?;
        let task = tasks::find_or_list(&scheduler.workflows(), name)
            .map_err(|message| ToolError::bad(self.name(), message))?;
        if let Some(trigger) = &task.trigger {
            return Err(ToolError::bad(
                self.name(),
                format!(
                    "`{}` is an event alert ({}): it runs when a matching event arrives, not on demand. `/events` shows what it did.",
                    task.id,
                    crate::tasks::trigger::describe(trigger)
                ),
            ));
        }
        let run = scheduler.preview(&task).await?;
        Ok(
            json!({"task": task.id, "status": run.status.as_str(), "output": run.output, "credits": run.credits}),
        )
    }
}
