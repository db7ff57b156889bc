//! Tasks created from chat. Each is kept in the store as a workflow document (the TOML a
//! workflow file would hold), so it is validated by the same code as a file, and every
//! replica sharing the database sees it: a change bumps a revision that schedulers poll.

use super::workflow::{self, Known, Workflow, WorkflowDocument};
use crate::config::Problem;
use crate::store::{Store, StoreError, StoredTask};
use chrono::{DateTime, Utc};

/// Changes whenever a stored task is created, edited or deleted.
pub const REVISION_KEY: &str = "scheduler.tasks.revision";

/// The stored tasks that validate, and a problem for each one that no longer does (say,
/// its model alias was removed from the config).
pub async fn load(
    store: &dyn Store,
    known: &Known,
) -> Result<(Vec<(Workflow, String)>, Vec<Problem>), StoreError> {
    let mut tasks = Vec::new();
    let mut problems = Vec::new();
    for stored in store.stored_tasks().await? {
        match parse(&stored, known) {
            Ok(task) => tasks.push((task, stored.definition)),
            Err(found) => problems.extend(found),
        }
    }
    Ok((tasks, problems))
}

fn parse(stored: &StoredTask, known: &Known) -> Result<Workflow, Vec<Problem>> {
    let origin = format!("chat task `{}`", stored.id);
    let mut task = workflow::parse(&origin, &stored.id, &stored.definition, known)?;
    task.origin = format!("chat (created by {})", stored.created_by);
    task.from_chat = true;
    task.created_by = Some(stored.created_by.clone());
    Ok(task)
}

/// The document as stored, and the task it makes, after checking it the way a workflow
/// file is checked. Problems are returned in words (there is no file line to point at).
pub fn render(
    id: &str,
    document: &WorkflowDocument,
    known: &Known,
) -> Result<(String, Workflow), String> {
    let text = toml::to_string(document).map_err(|e| format!("cannot write the task: {e}"))?;
    match workflow::parse(id, id, &text, known) {
        Ok(task) => Ok((text, task)),
        Err(problems) => Err(problems
            .iter()
            .map(|p| p.message.clone())
            .collect::<Vec<_>>()
            .join("; ")),
    }
}

/// The document a stored task was created from.
pub fn document(definition: &str) -> Result<WorkflowDocument, StoreError> {
    toml::from_str(definition)
        .map_err(|e| StoreError::Corrupt(format!("a stored task does not parse: {e}")))
}

/// Inserts a task; false when the id is taken.
pub async fn insert(
    store: &dyn Store,
    id: &str,
    definition: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let task = StoredTask {
        id: id.to_string(),
        definition: definition.to_string(),
        created_by: by.to_string(),
        created_at: now,
        updated_at: now,
    };
    let inserted = store.insert_task(&task).await?;
    if inserted {
        // Counted from its creation, so a new task never "misses" earlier fires; and
        // active, whatever a deleted task of the same id left behind.
        store
            .set_states(&[
                (super::anchor_key(id), now.timestamp_millis().to_string()),
                (super::paused_key(id), "0".to_string()),
            ])
            .await?;
        bump(store).await?;
    }
    Ok(inserted)
}

pub async fn update(
    store: &dyn Store,
    id: &str,
    definition: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let updated = store.update_task(id, definition, now).await?;
    if updated {
        bump(store).await?;
    }
    Ok(updated)
}

/// Deletes a task; its run history stays.
pub async fn delete(store: &dyn Store, id: &str) -> Result<bool, StoreError> {
    let deleted = store.delete_task(id).await?;
    if deleted {
        bump(store).await?;
    }
    Ok(deleted)
}

async fn bump(store: &dyn Store) -> Result<(), StoreError> {
    store
        .set_state(REVISION_KEY, &uuid::Uuid::new_v4().simple().to_string())
        .await
}

/// A readable id from a task name ("Daily earnings summary" → `daily-earnings-summary`),
/// with a number added until `taken` says it is free.
pub async fn new_id<F, Fut>(name: &str, taken: F) -> Result<String, StoreError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    let mut base: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while base.contains("--") {
        base = base.replace("--", "-");
    }
    let mut base = base.trim_matches('-').to_string();
    base.truncate(48);
    let base = match base.trim_end_matches('-') {
        "" => "task".to_string(),
        b => b.to_string(),
    };
    let mut candidate = base.clone();
    let mut n = 2;
    while taken(candidate.clone()).await? {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    Ok(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn id(name: &str, taken: &[&str]) -> String {
        let taken: Vec<String> = taken.iter().map(|s| s.to_string()).collect();
        new_id(name, |c| {
            let hit = taken.contains(&c);
            async move { Ok(hit) }
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn ids_are_readable_and_unique() {
        assert_eq!(
            id("Daily earnings summary!", &[]).await,
            "daily-earnings-summary"
        );
        assert_eq!(
            id("Top fans", &["top-fans", "top-fans-2"]).await,
            "top-fans-3"
        );
        assert_eq!(id("  ☀️ ", &[]).await, "task");
    }
}
