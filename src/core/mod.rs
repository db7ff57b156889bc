//! The conversation core: decides whether a message is from a permitted user, a command,
//! a decision on a pending write, or a request for the agent. Platform-neutral: channels
//! turn their events into [`Inbound`] and render [`Outbound`].

pub mod access;
pub mod gate;

pub use access::{AccessPolicy, Role};

use crate::agent::{Agent, Turn, TurnOutcome};
use crate::llm::CallTags;
use crate::store::{Decision, SharedStore, UsageDimension};
use crate::usage::{self, Period};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gate::Verdict;
use std::sync::Arc;

/// Longest message accepted from a person, in characters.
pub const MAX_MESSAGE_CHARS: usize = 8_000;

/// A platform event, reduced to what the core needs.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub platform: String,
    pub chat: String,
    pub thread: Option<String>,
    pub user: String,
    pub user_name: String,
    pub body: InboundBody,
}

#[derive(Debug, Clone)]
pub enum InboundBody {
    Text(String),
    /// A Confirm/Cancel button press.
    Decision {
        action_id: String,
        decision: Decision,
    },
}

impl Inbound {
    /// Conversations are keyed by platform, chat and thread.
    pub fn conversation(&self) -> String {
        format!(
            "{}:{}:{}",
            self.platform,
            self.chat,
            self.thread.as_deref().unwrap_or("")
        )
    }
}

/// A reply: Markdown text, and Confirm/Cancel choices when a write waits.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    pub text: String,
    pub confirm: Option<ConfirmPrompt>,
}

impl Outbound {
    pub fn text(text: impl Into<String>) -> Self {
        Outbound {
            text: text.into(),
            confirm: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmPrompt {
    pub action_id: String,
    pub summary: String,
    pub expires_at: DateTime<Utc>,
}

/// How the core answers on a platform.
#[async_trait]
pub trait Replier: Send + Sync {
    /// The request needs tools: show progress ("On it…", a typing indicator).
    fn working(&self);
    async fn reply(&self, out: Outbound);
}

pub struct Core {
    pub agent: Arc<Agent>,
    pub store: SharedStore,
    pub access: AccessPolicy,
}

const HELP: &str = "\
I'm your agency assistant. Ask me in plain words, for example:
- How much did we earn this week?
- Who are my top fans this month?
- How are my tracking links performing?

Anything that changes data (sending a message, editing a link…) is summarised first and runs only after an operator or admin confirms.

Commands:
/reset — forget this conversation
/usage — what the assistant has cost in the last 30 days
/help — this message";

const YES: &[&str] = &[
    "yes", "y", "confirm", "ok", "okay", "go ahead", "do it", "sure",
];
const NO: &[&str] = &["no", "n", "cancel", "stop", "don't", "dont", "abort"];

impl Core {
    pub async fn handle(&self, inbound: Inbound, replier: &dyn Replier) {
        let label = crate::metrics::PlatformLabel {
            platform: inbound.platform.clone(),
        };
        crate::metrics::get().messages.get_or_create(&label).inc();
        let Some(role) = self.access.role(&inbound.platform, &inbound.user) else {
            replier
                .reply(Outbound::text(format!(
                    "You're not allowed to use this bot. Your user id is {}: an admin can add it to the permitted users.",
                    inbound.user
                )))
                .await;
            return;
        };
        let out = match self.dispatch(&inbound, role, replier).await {
            Ok(out) => out,
            Err(e) => {
                tracing::error!(error = %e, conversation = %inbound.conversation(), "turn failed");
                Outbound::text(format!("Sorry, that failed: {e}"))
            }
        };
        replier.reply(out).await;
    }

    async fn dispatch(
        &self,
        inbound: &Inbound,
        role: Role,
        replier: &dyn Replier,
    ) -> anyhow::Result<Outbound> {
        let conversation = inbound.conversation();
        let text = match &inbound.body {
            InboundBody::Decision {
                action_id,
                decision,
            } => {
                return self
                    .decide(inbound, role, action_id, *decision, replier)
                    .await;
            }
            InboundBody::Text(text) => text.trim(),
        };
        let length = text.chars().count();
        if length > MAX_MESSAGE_CHARS {
            return Ok(Outbound::text(format!(
                "Your message is {length} characters long; the limit is {MAX_MESSAGE_CHARS}. Please shorten it."
            )));
        }
        if text.is_empty() {
            return Ok(Outbound::text(HELP));
        }
        if let Some(command) = text.strip_prefix('/') {
            return self.command(&conversation, command).await;
        }
        let lowered = text.to_lowercase();
        let lowered = lowered.trim_end_matches(['.', '!']);
        let decision = if YES.contains(&lowered) {
            Some(Decision::Confirm)
        } else if NO.contains(&lowered) {
            Some(Decision::Cancel)
        } else {
            None
        };
        if let Some(decision) = decision {
            if let Some(open) = self.store.open_action(&conversation, Utc::now()).await? {
                return self
                    .decide(inbound, role, &open.id, decision, replier)
                    .await;
            }
        }
        let turn = self.turn(inbound);
        let progress = || replier.working();
        let outcome = self.agent.ask(&turn, text, &progress).await?;
        Ok(render(outcome))
    }

    async fn command(&self, conversation: &str, command: &str) -> anyhow::Result<Outbound> {
        let name = command.split_whitespace().next().unwrap_or("");
        // Telegram appends the bot's name in groups: /reset@fanops_bot.
        let name = name.split('@').next().unwrap_or(name).to_lowercase();
        Ok(match name.as_str() {
            "start" | "reset" => {
                self.store.clear_history(conversation).await?;
                Outbound::text(if name == "start" {
                    format!("Hi! I'm fanops, your agency assistant. Fresh conversation started.\n\n{HELP}")
                } else {
                    "Done: I've forgotten this conversation.".to_string()
                })
            }
            "usage" => {
                let rows =
                    usage::report(self.store.as_ref(), Period::Days(30), UsageDimension::Model)
                        .await?;
                Outbound::text(usage::render_markdown(
                    &rows,
                    UsageDimension::Model,
                    Period::Days(30),
                ))
            }
            "help" => Outbound::text(HELP),
            other => Outbound::text(format!("I don't know the command /{other}.\n\n{HELP}")),
        })
    }

    async fn decide(
        &self,
        inbound: &Inbound,
        role: Role,
        action_id: &str,
        decision: Decision,
        replier: &dyn Replier,
    ) -> anyhow::Result<Outbound> {
        let conversation = inbound.conversation();
        let verdict = gate::decide(
            &self.store,
            &conversation,
            &inbound.user,
            role,
            action_id,
            decision,
            Utc::now(),
        )
        .await?;
        let turn = self.turn(inbound);
        match verdict {
            Verdict::Refused(why) => Ok(Outbound::text(why)),
            Verdict::Cancelled(action) => {
                let note = format!("Cancelled by {}; nothing was changed.", inbound.user_name);
                let tokens = crate::agent::history::count_tokens(&note);
                self.store
                    .replace_tool_result(&conversation, &action.tool_call_id, &note, tokens)
                    .await?;
                Ok(Outbound::text(format!(
                    "Cancelled: {}. Nothing was changed.",
                    action.summary
                )))
            }
            Verdict::Run(action, confirmation) => {
                replier.working();
                let ctx = self.agent.tool_context(&turn);
                let limit = self.agent.settings.tool_result_chars;
                let result = gate::execute(
                    &self.store,
                    &self.agent.registry,
                    &ctx,
                    &action,
                    confirmation,
                    limit,
                )
                .await?;
                let tokens = crate::agent::history::count_tokens(&result);
                self.store
                    .replace_tool_result(&conversation, &action.tool_call_id, &result, tokens)
                    .await?;
                let progress = || {};
                let outcome = self.agent.resume(&turn, &progress).await?;
                Ok(render(outcome))
            }
        }
    }

    fn turn(&self, inbound: &Inbound) -> Turn {
        Turn {
            conversation: inbound.conversation(),
            tags: CallTags {
                platform: inbound.platform.clone(),
                user: inbound.user.clone(),
                kind: "chat".into(),
                conversation: Some(inbound.conversation()),
                task: None,
            },
            model: None,
            unattended: false,
        }
    }
}

fn render(outcome: TurnOutcome) -> Outbound {
    match outcome {
        TurnOutcome::Answer(text) => Outbound::text(text),
        TurnOutcome::NeedsConfirmation { action, text } => {
            let preface = text.map(|t| format!("{t}\n\n")).unwrap_or_default();
            Outbound {
                text: format!(
                    "{preface}I'm about to: {}\n\nShould I go ahead?",
                    action.summary
                ),
                confirm: Some(ConfirmPrompt {
                    action_id: action.id,
                    summary: action.summary,
                    expires_at: action.expires_at,
                }),
            }
        }
    }
}
