//! Scheduled tasks: schedules in each task's time zone and workflow files.

pub mod engine;
pub mod schedule;
pub mod stored;
pub mod tasks;
pub mod workflow;
