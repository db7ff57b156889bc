//! Task definitions: workflow files, schedules in each task's time zone, tasks created
//! from chat, and the task list. Pure data and store reads; running them is the
//! scheduler's, which the task tools reach through [`TaskBook`].

mod listing;
pub mod schedule;
pub mod stored;
pub mod trigger;
pub mod workflow;

pub use listing::*;

use crate::store::{StoreError, TaskRun};
use async_trait::async_trait;
use std::sync::Arc;
use workflow::{Known, Workflow};

/// What the task tools and `/tasks` need from the running scheduler.
#[async_trait]
pub trait TaskBook: Send + Sync {
    /// Every workflow: files, built-ins and tasks created from chat, templates included.
    fn workflows(&self) -> Arc<Vec<Workflow>>;
    /// What a task may name: models, channels, the default zone.
    fn known(&self) -> &Known;
    /// The channels this process can deliver to.
    fn channels(&self) -> Vec<String>;
    /// Re-reads the tasks created from chat after one changed.
    async fn refresh(&self) -> Result<(), StoreError>;
    /// Runs a task now and returns its output without delivering it or moving its schedule.
    async fn preview(&self, task: &Workflow) -> Result<TaskRun, StoreError>;
}
