//! Thin adapters between a chat platform and the core. Each turns platform events into
//! `core::Inbound` and renders `core::Outbound`; none knows about models, the API or SQL.

pub mod claims;
pub mod console;
pub mod holder;
pub mod render;
#[cfg(feature = "telegram")]
pub mod telegram;
