//! End-to-end tests: one binary, fake servers on 127.0.0.1:0.
mod support;

mod browser;
mod budgets;
mod config_check;
#[cfg(feature = "telegram")]
mod connections;
mod conversation;
mod dashboard;
mod dashboard_sessions;
#[cfg(feature = "telegram")]
mod delivery_outcome;
mod deploy;
#[cfg(feature = "discord")]
mod discord;
#[cfg(all(
    feature = "telegram",
    feature = "slack",
    feature = "discord",
    feature = "whatsapp",
    feature = "teams"
))]
mod doctor;
mod errors;
#[cfg(feature = "telegram")]
mod events;
#[cfg(feature = "telegram")]
mod fake_telegram_selftest;
mod fakes_selftest;
mod fallbacks;
mod first_start;
mod gate;
mod helpers;
mod init;
mod layering;
#[cfg(feature = "telegram")]
mod lifecycle;
mod logs;
mod mcp;
#[cfg(feature = "slack")]
mod media_slack;
#[cfg(feature = "teams")]
mod media_teams;
#[cfg(feature = "telegram")]
mod media_telegram;
mod media_terminal;
#[cfg(feature = "whatsapp")]
mod media_whatsapp;
mod model_calls;
mod plain_problems;
mod platform_folders;
mod prompt_cache;
mod props;
mod rate_limits;
mod refused_tokens;
#[cfg(feature = "telegram")]
mod replicas;
#[cfg(feature = "telegram")]
mod scheduler;
mod server;
mod skills;
#[cfg(feature = "slack")]
mod slack;
#[cfg(feature = "slack")]
mod slack_accounts;
#[cfg(feature = "slack")]
mod slack_events;
#[cfg(feature = "slack")]
mod slack_team;
mod store;
#[cfg(feature = "telegram")]
mod tasks_from_chat;
#[cfg(feature = "telegram")]
mod team;
mod team_commands;
mod team_spending;
#[cfg(feature = "teams")]
mod teams;
#[cfg(feature = "teams")]
mod teams_delivery;
#[cfg(feature = "teams")]
mod teams_replicas;
#[cfg(feature = "telegram")]
mod telegram;
#[cfg(unix)]
mod terminal;
mod usage_periods;
mod web_search;
#[cfg(feature = "whatsapp")]
mod whatsapp;
#[cfg(feature = "whatsapp")]
mod whatsapp_lifecycle;
#[cfg(feature = "whatsapp")]
mod whatsapp_posts;
