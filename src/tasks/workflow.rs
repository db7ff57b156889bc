//! Workflow files (DESIGN §6): TOML with a prompt and a schedule. Without `[deliver]` a
//! file is a template; with it, an active task. Built-in workflows are embedded in the
//! binary; more come from the configured directory. Every problem is `file:line: …`.

use super::schedule::{Schedule, ScheduleSpec};
use super::trigger::{Trigger, TriggerSpec};
use crate::config::{parse_toml, path, Locator, PathPart, Problem};
use crate::onlyfans::catalog::{Catalog, Effect};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The workflows shipped in `workflows/`, embedded at build time.
pub const BUILT_IN: &[(&str, &str)] = &[
    (
        "daily-earnings-digest.toml",
        include_str!("../../workflows/daily-earnings-digest.toml"),
    ),
    (
        "weekly-recap.toml",
        include_str!("../../workflows/weekly-recap.toml"),
    ),
    (
        "top-spenders-weekly.toml",
        include_str!("../../workflows/top-spenders-weekly.toml"),
    ),
    (
        "subscriber-movement.toml",
        include_str!("../../workflows/subscriber-movement.toml"),
    ),
    (
        "link-performance.toml",
        include_str!("../../workflows/link-performance.toml"),
    ),
    (
        "chargeback-watch.toml",
        include_str!("../../workflows/chargeback-watch.toml"),
    ),
    (
        "mass-message-performance.toml",
        include_str!("../../workflows/mass-message-performance.toml"),
    ),
    (
        "win-back-fans.toml",
        include_str!("../../workflows/win-back-fans.toml"),
    ),
    (
        "alert-big-tip.toml",
        include_str!("../../workflows/alert-big-tip.toml"),
    ),
    (
        "alert-new-subscriber-digest.toml",
        include_str!("../../workflows/alert-new-subscriber-digest.toml"),
    ),
    (
        "alert-account-needs-attention.toml",
        include_str!("../../workflows/alert-account-needs-attention.toml"),
    ),
    (
        "alert-ppv-unlocked.toml",
        include_str!("../../workflows/alert-ppv-unlocked.toml"),
    ),
];

/// The category of a workflow file that names none; an event rule's is [`RULE_CATEGORY`].
pub const DEFAULT_CATEGORY: &str = "Other";
pub const RULE_CATEGORY: &str = "Alerts";

/// A workflow file as written. Tasks created from chat are stored in this form too.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct WorkflowDocument {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default)]
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// An event rule: fired by matching events instead of a schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<TriggerSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver: Option<Deliver>,
    #[serde(default)]
    pub permissions: Permissions,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Deliver {
    pub channel: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Permissions {
    #[serde(default)]
    pub allow_writes: Vec<String>,
}

/// A loaded, validated workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// The file stem: how tasks and templates are named on the command line.
    pub id: String,
    /// `built-in:<file>` or the file's path.
    pub origin: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub skill: Option<String>,
    pub model: Option<String>,
    pub prompt: String,
    /// An event rule's schedule never fires: see `trigger`.
    pub schedule: Schedule,
    pub schedule_spec: ScheduleSpec,
    /// Set for an event rule.
    pub trigger: Option<Trigger>,
    /// The `[trigger]` table as written (to start a rule from a template).
    pub trigger_spec: Option<TriggerSpec>,
    /// None: a template.
    pub deliver: Option<Deliver>,
    pub allow_writes: Vec<String>,
    /// Created from chat and kept in the store (not a file).
    pub from_chat: bool,
    /// Who created it from chat: `<connection>:<user id>` (None for a file's task).
    pub created_by: Option<String>,
}

impl Workflow {
    pub fn is_template(&self) -> bool {
        self.deliver.is_none()
    }

    /// Fired by events rather than the clock.
    pub fn is_rule(&self) -> bool {
        self.trigger.is_some()
    }
}

/// What a workflow may refer to.
#[derive(Debug, Clone)]
pub struct Known {
    pub models: Vec<String>,
    pub skills: Vec<String>,
    pub default_tz: Tz,
    /// The connections a task can deliver to: the platforms this build runs and their
    /// configured accounts (`<platform>:<account>`).
    pub channels: Vec<String>,
}

impl Known {
    /// The config's model aliases and team zone, and the skills that exist (built in and
    /// in `[skills] dir`).
    pub fn for_config(config: &crate::config::Config) -> Known {
        Known {
            models: config.llm.models.keys().cloned().collect(),
            skills: crate::skills::Library::for_config(config).0.names(),
            default_tz: config.tz(),
            channels: config.deliverable(),
        }
    }
}

/// Parses and validates one workflow file.
pub fn parse(origin: &str, id: &str, text: &str, known: &Known) -> Result<Workflow, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(file) = parse_toml::<WorkflowDocument>(origin, text, &mut problems) else {
        return Err(problems);
    };
    let locator = Locator::new(text);
    let mut at = |keys: &[PathPart], message: String| {
        problems.push(Problem {
            origin: origin.to_string(),
            line: locator.line_of(keys),
            message,
        })
    };
    check_fields(&file, known, &mut at);
    check_allow_writes(&file.permissions.allow_writes, &mut at);
    let trigger = file
        .trigger
        .as_ref()
        .and_then(|spec| match spec.build(&file.prompt) {
            Ok(trigger) => Some(trigger),
            Err(errors) => {
                for e in errors {
                    at(&path(&["trigger", e.key]), e.message);
                }
                None
            }
        });
    let schedule = schedule_of(&file, known, &mut at);
    match schedule {
        Some(schedule) if problems.is_empty() => Ok(workflow(id, origin, file, schedule, trigger)),
        _ => Err(problems),
    }
}

/// Where a problem is reported: the keys it is about, and what is wrong.
type At<'a> = dyn FnMut(&[PathPart], String) + 'a;

/// The fields that name something: the model, the skill, the destination.
fn check_fields(file: &WorkflowDocument, known: &Known, at: &mut At<'_>) {
    if file.name.trim().is_empty() {
        at(&path(&["name"]), "name must not be empty".into());
    }
    if file.prompt.trim().is_empty() && file.trigger.is_none() {
        at(
            &path(&["prompt"]),
            "prompt must say what the task should do".into(),
        );
    }
    if let Some(model) = file.model.as_ref().filter(|m| !known.models.contains(m)) {
        at(
            &path(&["model"]),
            format!(
                "unknown model alias `{model}` (configured: {})",
                known.models.join(", ")
            ),
        );
    }
    if let Some(skill) = file.skill.as_ref().filter(|s| !known.skills.contains(s)) {
        at(
            &path(&["skill"]),
            format!(
                "unknown skill `{skill}` (available: {})",
                list_or_none(&known.skills)
            ),
        );
    }
    if let Some(deliver) = &file.deliver {
        if !known.channels.contains(&deliver.channel) {
            at(
                &path(&["deliver", "channel"]),
                format!(
                    "unknown channel `{}` (use {})",
                    deliver.channel,
                    list_or_none(&known.channels)
                ),
            );
        }
        if deliver.to.trim().is_empty() {
            at(
                &path(&["deliver", "to"]),
                "`to` must name the chat or channel id to post to".into(),
            );
        }
    }
}

/// `[permissions] allow_writes` lists only catalog endpoints that write.
fn check_allow_writes(endpoints: &[String], at: &mut At<'_>) {
    for endpoint in endpoints {
        let keys = path(&["permissions", "allow_writes"]);
        match Catalog::embedded().get(endpoint) {
            None => at(
                &keys,
                format!("allow_writes names `{endpoint}`, which is not an OnlyFansAPI endpoint"),
            ),
            Some(e) if e.effect == Effect::Read => at(
                &keys,
                format!("allow_writes names `{endpoint}`, which is a read: list only writes"),
            ),
            Some(_) => {}
        }
    }
}

/// The schedule: built from `[schedule]`, none for an event rule, or a problem.
fn schedule_of(file: &WorkflowDocument, known: &Known, at: &mut At<'_>) -> Option<Schedule> {
    match (&file.schedule, &file.trigger) {
        (Some(_), Some(_)) => {
            at(
                &path(&["trigger"]),
                "a workflow has either a [schedule] or a [trigger], not both".into(),
            );
            None
        }
        (None, Some(_)) => Some(Schedule::never(known.default_tz)),
        (None, None) => {
            at(
                &[],
                "a workflow needs a [schedule] table (or a [trigger] table for an event rule)"
                    .into(),
            );
            None
        }
        (Some(spec), None) => match spec.build(known.default_tz) {
            Ok(s) => Some(s),
            Err(e) => {
                let key = if spec_has(spec, e.key) {
                    vec!["schedule", e.key]
                } else {
                    vec!["schedule"]
                };
                at(&path(&key), e.message);
                None
            }
        },
    }
}

/// A checked document as the workflow the scheduler runs.
fn workflow(
    id: &str,
    origin: &str,
    file: WorkflowDocument,
    schedule: Schedule,
    trigger: Option<Trigger>,
) -> Workflow {
    let category = match file.category.trim() {
        "" if file.trigger.is_some() => RULE_CATEGORY.into(),
        "" => DEFAULT_CATEGORY.into(),
        _ => file.category,
    };
    Workflow {
        id: id.to_string(),
        origin: origin.to_string(),
        name: file.name,
        description: file.description,
        category,
        skill: file.skill,
        model: file.model,
        prompt: file.prompt,
        schedule,
        schedule_spec: file.schedule.unwrap_or_default(),
        trigger,
        trigger_spec: file.trigger,
        deliver: file.deliver,
        allow_writes: file.permissions.allow_writes,
        from_chat: false,
        created_by: None,
    }
}

fn spec_has(spec: &ScheduleSpec, key: &str) -> bool {
    match key {
        "cron" => spec.cron.is_some(),
        "every" => spec.every.is_some(),
        "daily" => spec.daily.is_some(),
        "weekly" => spec.weekly.is_some(),
        "monthly" => spec.monthly.is_some(),
        "timezone" => spec.timezone.is_some(),
        _ => false,
    }
}

/// "a, b, c", or "none".
pub(crate) fn list_or_none<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
        items.join(", ")
    }
}

/// The built-in workflows plus every `*.toml` in `dir` (when it exists); a file in `dir`
/// with a built-in's name replaces it. Returns what loaded and every problem found.
pub fn load_all(dir: Option<&Path>, known: &Known) -> (Vec<Workflow>, Vec<Problem>) {
    let mut sources: Vec<(String, String, String)> = BUILT_IN
        .iter()
        .map(|(file, text)| {
            (
                format!("built-in:workflows/{file}"),
                stem(file),
                text.to_string(),
            )
        })
        .collect();
    let mut problems = Vec::new();
    if let Some(dir) = dir.filter(|d| d.is_dir()) {
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => {
                problems.push(Problem {
                    origin: dir.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                });
                Vec::new()
            }
        };
        files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
        files.sort();
        for file in files {
            let id = stem(&file.file_name().unwrap_or_default().to_string_lossy());
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    sources.retain(|(_, existing, _)| existing != &id);
                    sources.push((file.display().to_string(), id, text));
                }
                Err(e) => problems.push(Problem {
                    origin: file.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
    }
    let mut workflows = Vec::new();
    for (origin, id, text) in sources {
        match parse(&origin, &id, &text, known) {
            Ok(w) => workflows.push(w),
            Err(p) => problems.extend(p),
        }
    }
    (workflows, problems)
}

fn stem(file: &str) -> String {
    file.trim_end_matches(".toml").to_string()
}

#[cfg(test)]
mod tests;

/// The built-in workflows and those of `[scheduler] workflows_dir`, checked against the
/// config (model aliases, team zone) and the skills that exist.
pub fn load_for_config(config: &crate::config::Config) -> (Vec<Workflow>, Vec<Problem>) {
    let known = Known::for_config(config);
    load_all(Some(Path::new(&config.scheduler.workflows_dir)), &known)
}
