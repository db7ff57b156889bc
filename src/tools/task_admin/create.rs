//! `create_task`: a scheduled task or an event alert, drafted from chat and confirmed.

use super::*;

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
    /// The new task the arguments describe: an event alert when there is a trigger (given
    /// or from the template), otherwise a scheduled task.
    async fn draft(&self, args: &Value, ctx: &ToolContext) -> Result<Draft, ToolError> {
        let tool = self.name();
        admin_only(tool, ctx)?;
        let scheduler = scheduler(tool, ctx)?;
        let name = crate::tools::arg_str(tool, args, "name")?
            .trim()
            .to_string();
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
        let template = template.as_ref();
        let prompt = scheduled_prompt(tool, args, template)?;
        let schedule = zoned_schedule(tool, args, ctx, scheduler.as_ref(), template).await?;
        let deliver = destination(tool, args, ctx)?;
        let document = scheduled_document(
            tool,
            args,
            template,
            name,
            prompt,
            schedule,
            deliver.clone(),
        )?;
        let (text, workflow) = validated(tool, scheduler.as_ref(), "new-task", &document)?;
        let summary = scheduled_summary(&document.name, &workflow, &deliver, ctx);
        Ok(Draft {
            document,
            text,
            workflow,
            summary,
        })
    }
}

/// What each run of a scheduled task does: the `prompt` argument, else the template's.
fn scheduled_prompt(
    tool: &str,
    args: &Value,
    template: Option<&Workflow>,
) -> Result<String, ToolError> {
    match (optional_str(tool, args, "prompt")?, template) {
        (Some(p), _) => Ok(p.to_string()),
        (None, Some(t)) => Ok(t.prompt.clone()),
        (None, None) => Err(ToolError::bad(
            tool,
            "`prompt` is required: say in full what the task should do on each run, or name a workflow `template`",
        )),
    }
}

/// When a scheduled task runs, in a time zone the user named: the `schedule` argument (else
/// the template's) with the `timezone` argument (else the schedule's own). With no zone,
/// the model is told to ask, and reminded of the zone this chat's last task used.
async fn zoned_schedule(
    tool: &str,
    args: &Value,
    ctx: &ToolContext,
    scheduler: &dyn TaskBook,
    template: Option<&Workflow>,
) -> Result<ScheduleSpec, ToolError> {
    let mut schedule = match (schedule_arg(tool, args)?, template) {
        (Some(s), _) => s,
        (None, Some(t)) => t.schedule_spec.clone(),
        (None, None) => return Err(ToolError::bad(
            tool,
            "`schedule` is required: when should the task run? Ask the user if they did not say.",
        )),
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
    Ok(schedule)
}

/// The document of a scheduled task: category and model from the arguments, else the
/// template's; description and skill from the template.
fn scheduled_document(
    tool: &str,
    args: &Value,
    template: Option<&Workflow>,
    name: String,
    prompt: String,
    schedule: ScheduleSpec,
    deliver: Deliver,
) -> Result<WorkflowDocument, ToolError> {
    Ok(WorkflowDocument {
        name,
        description: template.map(|t| t.description.clone()).unwrap_or_default(),
        category: optional_str(tool, args, "category")?
            .map(str::to_string)
            .or_else(|| template.map(|t| t.category.clone()))
            .unwrap_or_else(|| "Reports".into()),
        skill: template.and_then(|t| t.skill.clone()),
        model: optional_str(tool, args, "model")?
            .map(str::to_string)
            .or_else(|| template.and_then(|t| t.model.clone())),
        prompt,
        schedule: Some(schedule),
        trigger: None,
        deliver: Some(deliver),
        permissions: Default::default(),
    })
}

/// The confirmation's words for a new scheduled task: when, where, first run, and what.
fn scheduled_summary(
    name: &str,
    workflow: &Workflow,
    deliver: &Deliver,
    ctx: &ToolContext,
) -> String {
    format!(
        "create the scheduled task “{name}”, {schedule}, posting to {to}; first run {first}. Each run: “{what}”",
        schedule = describe(&workflow.schedule_spec, workflow.schedule.tz.name()),
        to = deliver_words(deliver, ctx),
        first = next_run_words(workflow),
        what = short(&workflow.prompt, 160),
    )
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
                "channel": {"type": "string", "description": "Platform, or <platform>:<account> (default: this chat's)"},
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
        let by = format!("{}:{}", super::connection(ctx), ctx.tags.user);
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
