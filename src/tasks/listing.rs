//! What `/tasks` and `fanops tasks` show and do: each task with its schedule, state, last
//! and next run; pause, resume and run now.

use super::schedule::ScheduleSpec;
use super::workflow::Workflow;
use crate::store::{ChannelState, Store, StoreError, TaskRun};
use chrono::{DateTime, Utc};

/// One line of the task list.
#[derive(Debug, Clone)]
pub struct TaskLine {
    pub id: String,
    pub name: String,
    pub schedule: String,
    /// `active`, `paused` or `template`.
    pub state: &'static str,
    /// `chat`, `file` or `built-in`: where the task is defined (and so edited).
    pub source: &'static str,
    /// Who made it in chat: `<connection>:<user id>`.
    pub created_by: Option<String>,
    pub last: Option<TaskRun>,
    pub next: Option<DateTime<Utc>>,
}

pub fn paused_key(task: &str) -> String {
    format!("scheduler.paused.{task}")
}

pub const ANCHOR_PREFIX: &str = "scheduler.anchor.";

/// The state key holding the instant a task was first seen (fires are counted from it).
pub fn anchor_key(task: &str) -> String {
    format!("{ANCHOR_PREFIX}{task}")
}

/// "daily at 08:00", "weekly on mon, thu at 09:00", "cron 0 8 * * 1-5" (with the zone).
pub fn describe(spec: &ScheduleSpec, zone: &str) -> String {
    let what = if let Some(c) = &spec.cron {
        format!("cron {c}")
    } else if let Some(e) = &spec.every {
        format!("every {e}")
    } else if let Some(d) = &spec.daily {
        format!("daily at {d}")
    } else if let Some(w) = &spec.weekly {
        format!("weekly on {} at {}", w.days.join(", "), w.at)
    } else if let Some(m) = &spec.monthly {
        format!("monthly on day {} at {}", m.day, m.at)
    } else {
        "no schedule".into()
    };
    format!("{what} ({zone})")
}

/// A task's schedule in words, or an event rule's trigger ("on tip ≥ $50").
pub fn when(w: &Workflow) -> String {
    match &w.trigger {
        Some(trigger) => super::trigger::describe(trigger),
        None => describe(&w.schedule_spec, w.schedule.tz.name()),
    }
}

/// Whether a task is paused, and when it was last resumed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PauseState {
    Paused,
    Active { resumed_at: Option<DateTime<Utc>> },
}

pub async fn pause_state(store: &dyn ChannelState, task: &str) -> Result<PauseState, StoreError> {
    let value = store.state(&paused_key(task)).await?;
    Ok(parse_pause(value.as_deref()))
}

/// The pause state a stored value says (none: never paused).
pub fn parse_pause(value: Option<&str>) -> PauseState {
    match value {
        Some("1") => PauseState::Paused,
        Some(v) => PauseState::Active {
            resumed_at: v
                .strip_prefix("resumed:")
                .and_then(|ms| ms.parse().ok())
                .and_then(DateTime::from_timestamp_millis),
        },
        None => PauseState::Active { resumed_at: None },
    }
}

pub async fn is_paused(store: &dyn ChannelState, task: &str) -> Result<bool, StoreError> {
    Ok(pause_state(store, task).await? == PauseState::Paused)
}

/// Pauses or resumes a task. A resumed task does not owe the fires it skipped: it is
/// counted again from `now`.
pub async fn set_paused(
    store: &dyn ChannelState,
    task: &str,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let value = if paused {
        "1".to_string()
    } else {
        format!("resumed:{}", now.timestamp_millis())
    };
    store.set_state(&paused_key(task), &value).await
}

fn source(w: &Workflow) -> &'static str {
    if w.from_chat {
        "chat"
    } else if w.origin.starts_with("built-in:") {
        "built-in"
    } else {
        "file"
    }
}

/// Every workflow, active tasks first, with their last and next run.
pub async fn list(
    store: &dyn Store,
    workflows: &[Workflow],
    now: DateTime<Utc>,
) -> Result<Vec<TaskLine>, StoreError> {
    let mut lines = Vec::with_capacity(workflows.len());
    for w in workflows {
        let paused = is_paused(store, &w.id).await?;
        let state = match (w.is_template(), paused) {
            (true, _) => "template",
            (false, true) => "paused",
            (false, false) => "active",
        };
        let last = store.recent_runs(&w.id, 1).await?.into_iter().next();
        let next = (state == "active")
            .then(|| w.schedule.next_after(now))
            .flatten();
        lines.push(TaskLine {
            id: w.id.clone(),
            name: w.name.clone(),
            schedule: when(w),
            state,
            source: source(w),
            created_by: w.created_by.clone(),
            last,
            next,
        });
    }
    lines.sort_by_key(|l| (l.state == "template", l.id.clone()));
    Ok(lines)
}

/// The tasks `person` (`<connection>:<user id>`) made in chat: `/tasks mine`.
pub fn made_by(lines: Vec<TaskLine>, person: &str) -> Vec<TaskLine> {
    lines
        .into_iter()
        .filter(|l| l.created_by.as_deref() == Some(person))
        .collect()
}

/// The list for chat and the terminal: a few short lines per task, so it reads on a
/// phone, and the templates in one paragraph.
pub fn render(lines: &[TaskLine]) -> String {
    if lines.is_empty() {
        return "No workflows or tasks.".into();
    }
    let short = |at: DateTime<Utc>| at.format("%-d %b %H:%M UTC").to_string();
    let mut blocks = Vec::new();
    for l in lines.iter().filter(|l| l.state != "template") {
        let mut block = format!("**{}** · {}\n{}", l.name, l.state, l.schedule);
        if let Some(run) = &l.last {
            block.push_str(&format!(
                "\nlast run {}: {}",
                short(run.scheduled_for),
                run.outcome()
            ));
        }
        if let Some(next) = l.next {
            block.push_str(&format!("\nnext run {}", short(next)));
        }
        let by = l
            .created_by
            .as_deref()
            .map(|by| format!(" by {by}"))
            .unwrap_or_default();
        block.push_str(&format!("\nid {}, {}{by}", l.id, defined_in(l.source)));
        blocks.push(block);
    }
    if blocks.is_empty() {
        blocks.push("No active tasks.".into());
    }
    let templates: Vec<String> = lines
        .iter()
        .filter(|l| l.state == "template")
        .map(|l| format!("{} ({})", l.name, l.id))
        .collect();
    if !templates.is_empty() {
        blocks.push(format!(
            "{} {} to use or copy (no [deliver]): {}",
            templates.len(),
            if templates.len() == 1 {
                "template"
            } else {
                "templates"
            },
            templates.join(", ")
        ));
    }
    blocks.join("\n\n")
}

fn defined_in(source: &str) -> &'static str {
    match source {
        "chat" => "made in chat",
        "built-in" => "built in",
        _ => "from a workflow file",
    }
}

/// Finds a workflow by id or (case-insensitive) name.
pub fn find(workflows: &[Workflow], name: &str) -> Option<Workflow> {
    workflows
        .iter()
        .find(|w| w.id == name || w.name.eq_ignore_ascii_case(name))
        .cloned()
}

/// [`find`], or a message that lists the ids there are.
pub fn find_or_list(workflows: &[Workflow], name: &str) -> Result<Workflow, String> {
    find(workflows, name).ok_or_else(|| {
        let known: Vec<&str> = workflows.iter().map(|w| w.id.as_str()).collect();
        format!("no task or workflow `{name}` (known: {})", known.join(", "))
    })
}
