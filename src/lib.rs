//! # fanops
//!
//! A self-hosted chat-ops assistant for OnlyFans agencies: a team asks in plain
//! language, fanops answers from live OnlyFansAPI data, acts only after a person
//! confirms, and meters what every answer costs.
//!
//! # Layout
//!
//! Data flows one way: channels → core → agent → tools → (onlyfans, llm, store), with the
//! scheduler beside the core, feeding the agent. Each module is listed from the top down
//! with its rank, what it owns and what it may not import. A module imports only modules
//! of a lower rank (so there can be no circle), and never one its line forbids;
//! `tests/e2e/layering.rs` reads this list and fails when a `crate::` path in `src/`
//! breaks it. A new module is one line with one number.
//!
//! - `cli` (27) — the command-line commands (`init`, `doctor`, `run`, `chat`, `check`, `migrate`, `usage`, `tasks`). May not import: nothing is above it.
//! - `app` (26) — wires one `App` from a config; `main.rs` only parses the command line. May not import: cli.
//! - `channels` (25) — the chat platforms, each a folder listed once in the registry, and the terminal: thin adapters between a platform and the core, and what every adapter shares: inbound claims, single-holder leases. May not import: cli, app, server, scheduler, agent, tools, tasks, llm, onlyfans, usage.
//! - `dashboard` (24) — the operations page (`GET /`, off unless `[server] dashboard`): usage, budgets, tasks, recent events and what the rules did, pending confirmations and the audit log, behind `FANOPS_DASHBOARD_TOKEN`; its routes join the listener beside the channels'. May not import: cli, app, channels, server, core, scheduler, agent, tools, llm, onlyfans.
//! - `core` (23) — access, commands and conversations; routes a decision on a pending write to the agent, which owns it; knows no platform. May not import: cli, app, channels, server, scheduler, tools.
//! - `events` (22) — real-time events: OnlyFansAPI and OFAuth webhooks, WebSocket relays, one normalised event type, and the rules that turn events into alerts. May not import: cli, app, channels, server, core.
//! - `scheduler` (21) — fires each task once across replicas, runs it through the agent, delivers it. May not import: cli, app, channels, server, core.
//! - `agent` (20) — the tool-calling loop; hands every write to the gate, and owns a pending action from the press to the answer (`Agent::decide`: decide, run once, settle, resume). May not import: cli, app, channels, server, core, scheduler.
//! - `tools` (19) — the registry of tools the model sees, each declaring its effect in code, and the confirmation gate, the only way a write runs. May not import: cli, app, channels, server, core, scheduler, agent.
//! - `web_search` (18) — web search through Brave, SearXNG or Tavily, each search metered in the usage ledger. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, skills, mcp, health.
//! - `tasks` (17) — workflow files, schedules, tasks created from chat, the task list, and the `TaskBook` trait the scheduler implements. May not import: cli, app, channels, server, core, scheduler, agent, tools.
//! - `llm` (16) — OpenAI-compatible model calls, prices, token estimates, and the usage they record. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, onlyfans, usage.
//! - `budget` (15) — monthly budgets of the team and each user: the check before every model call and web search, warnings, settings. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, health, dashboard.
//! - `usage` (14) — reports over the usage ledger, and charts of credits over time. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, chat, budget, dashboard.
//! - `skills` (13) — the playbooks shipped in `skills/` and `[skills] dir`, their bundles, their checks, and installing them for the team. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, usage, mcp, web_search.
//! - `server` (12) — the HTTP listener: health, readiness, metrics. May not import: cli, app, channels, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, dashboard.
//! - `mcp` (11) — connections to the MCP servers of `[[mcp]]` (rmcp): their tools, calls, and what `/readyz` says of them. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, skills, web_search, store.
//! - `chat` (10) — the platform-neutral types every layer shares: Inbound, Outbound, Role, Turn, Delivery. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, health.
//! - `store` (9) — the only code that writes SQL; SQLite or PostgreSQL chosen by URL. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health.
//! - `onlyfans` (8) — the only code that talks to OnlyFansAPI: catalog, validation, retries, rate limits. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, usage, chat.
//! - `health` (7) — what `/readyz` reports for each long-running part. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, store.
//! - `signing` (6) — constant-time secret and signature checks (HMAC-SHA256) for whatever calls fanops over HTTP. May not import: cli, app, channels, server, core, scheduler, events, agent, tools, tasks, llm, onlyfans, usage, chat, health, store, config, metrics, retry_after, clock.
//! - `retry_after` (5) — a server's request to wait (`Retry-After`), read once for every HTTP client. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health, store, config, metrics, clock.
//! - `plot` (4) — the embedded font and PNG encoding every chart shares. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health, store, config, metrics, retry_after, clock, budget, dashboard.
//! - `metrics` (3) — process-wide Prometheus counters. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health, store, config.
//! - `config` (2) — layered configuration (defaults → `fanops.toml` → env), secrets, `file:line` checks. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health, store.
//! - `clock` (1) — what time it is, as a value tests can move forward. May not import: cli, app, channels, server, core, scheduler, agent, tools, tasks, llm, onlyfans, usage, chat, health, store, config, metrics.

pub mod agent;
pub mod app;
pub mod budget;
pub mod channels;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod dashboard;
pub mod events;
pub mod health;
pub mod llm;
pub mod mcp;
pub mod metrics;
pub mod onlyfans;
pub mod plot;
pub mod retry_after;
pub mod scheduler;
pub mod server;
pub mod signing;
pub mod skills;
pub mod store;
pub mod tasks;
pub mod tools;
pub mod usage;
pub mod web_search;
