//! Benchmarks of what a user gets (numbers, not pass/fail). Each part starts the release
//! `fanops run` as a child process, pointed at the fake servers of the end-to-end tests,
//! and measures it from outside: through the fake Telegram, the fakes' own handling log
//! and `/proc`.
//!
//! `cargo bench --bench core` runs every part; `cargo bench --bench core -- turn scheduler`
//! only the parts named:
//!
//! - `ready`: start to the first `/readyz` 200 on a new SQLite file.
//! - `memory`: resident memory idle before the first message, after the first turn and
//!   after 1,000 turns in 50 Telegram chats; the first turn against later ones.
//! - `turn`: the bot's own time per turn through Telegram with a 20-turn history.
//! - `prompt`: tokens of the first model request for a plain question.
//! - `conversation`: tokens, cache reuse and credits of a 20-question conversation.
//! - `earnings`: `agency_earnings` over 50 creators with a 300 ms API, asked twice.
//! - `scheduler`: fire lateness of 10,000 active tasks under the real timer loop.
//! - `slack`: time from a Slack event to the first post, through Socket Mode.
//! - `events`: 1,000 signed webhook events a second for 10 s: accepted, stored,
//!   processed, answer time, peak memory.
//! - `discord`: a Discord mention (gateway event) to the thread and to the answer posted.
//!
//! (`run` names `ready` and `memory` together.)

#[path = "../tests/e2e/support/mod.rs"]
mod support;

#[path = "core/channel.rs"]
mod channel;
#[path = "core/conversation.rs"]
mod conversation;
#[cfg(feature = "discord")]
#[path = "core/discord.rs"]
mod discord;
#[path = "core/earnings.rs"]
mod earnings;
#[path = "core/events.rs"]
mod events;
#[path = "core/harness.rs"]
mod harness;
#[path = "core/prompt.rs"]
mod prompt;
#[path = "core/scheduler.rs"]
mod scheduler;
#[cfg(feature = "slack")]
#[path = "core/slack.rs"]
mod slack;

const PARTS: &[&str] = &[
    "ready",
    "memory",
    "turn",
    "prompt",
    "conversation",
    "earnings",
    "scheduler",
    "slack",
    "events",
    "discord",
    "run",
];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list; there are no test cases here.
    }
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(unknown) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        eprintln!(
            "unknown part `{unknown}`; the parts are: {}",
            PARTS.join(", ")
        );
        std::process::exit(2);
    }
    let wanted = |part: &str| {
        only.is_empty()
            || only.iter().any(|o| o == part)
            || (only.iter().any(|o| o == "run") && matches!(part, "ready" | "memory"))
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if wanted("ready") {
            channel::start_to_ready(5).await;
        }
        if wanted("memory") || wanted("turn") {
            channel::channel(wanted("memory"), wanted("turn")).await;
        }
        if wanted("prompt") {
            prompt::prompt_tokens().await;
        }
        if wanted("conversation") {
            conversation::conversation().await;
        }
        if wanted("earnings") {
            earnings::earnings_twice().await;
        }
        if wanted("scheduler") {
            scheduler::scheduler_10k().await;
        }
        #[cfg(feature = "slack")]
        if wanted("slack") {
            slack::event_to_first_post().await;
        }
        if wanted("events") {
            events::webhook_load().await;
        }
        #[cfg(feature = "discord")]
        if wanted("discord") {
            discord::mention_to_answer().await;
        }
    });
}
