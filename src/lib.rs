//! # fanops
//!
//! A self-hosted chat-ops assistant for OnlyFans agencies: a team asks in plain
//! language, fanops answers from live OnlyFansAPI data, acts only after a person
//! confirms, and meters what every answer costs.
//!
//! # Layout
//!
//! - `chat`     — the platform-neutral types every layer shares: Inbound, Outbound, Role, Turn, Delivery.
//! - `config`   — layered configuration (defaults → `fanops.toml` → env), secrets, `file:line` checks.
//! - `store`    — the only code that writes SQL; SQLite or PostgreSQL chosen by URL.
//! - `onlyfans` — the only code that talks to OnlyFansAPI: catalog, validation, retries, rate limit.
//! - `llm`      — OpenAI-compatible model calls, prices, and the usage they record.
//! - `tools`    — the registry of tools the model sees; each declares its effect in code.
//! - `agent`    — the tool-calling loop; never runs a write, hands it to the gate instead.
//! - `core`     — access, commands, conversations and the confirmation gate; knows no platform.
//! - `scheduler` — schedules, workflow files, tasks created from chat, and the tick that
//!   claims each fire once.
//! - `channels` — thin adapters (terminal, Telegram) between a platform and the core.
//! - `server`   — the HTTP listener: health, readiness, metrics.
//! - `usage`    — reports over the usage ledger.
//! - `metrics`  — process-wide Prometheus counters.
//! - `health`   — what `/readyz` reports for each long-running part.
//! - `clock`    — what time it is, as a value tests can move forward.
//! - `cli`      — the command-line commands (`run`, `chat`, `check`, `migrate`, `usage`, `tasks`).
//! - `app`      — wires one `App` from a config; `main.rs` only parses the command line.

pub mod agent;
pub mod app;
pub mod channels;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod health;
pub mod llm;
pub mod metrics;
pub mod onlyfans;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod tasks;
pub mod tools;
pub mod usage;
