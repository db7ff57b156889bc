//! The scheduler: fires each task's schedule once across every replica, runs it through
//! the agent without a person present, and delivers the answer. Task definitions live in
//! `crate::tasks`.

pub mod engine;
mod retry;
