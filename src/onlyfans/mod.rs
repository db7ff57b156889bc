//! OnlyFansAPI: the only code that talks to it. The catalog says what exists and how to
//! call it; the client sends validated requests within the configured rate and the budget
//! the API reports; accounts are cached briefly.

pub mod accounts;
pub mod catalog;
pub mod client;
pub mod compact;
pub mod rate_budget;
