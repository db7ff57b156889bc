//! The conversation core: decides whether a message is from a permitted user, a command,
//! a decision on a pending write, or a request for the agent. Platform-neutral: channels
//! turn their events into [`Inbound`] and render [`Outbound`].

pub mod access;
mod commands;
mod media;
mod team;
mod team_commands;

use crate::chat::RunKind;
pub use crate::chat::{
    Attachment, AttachmentKind, ConfirmPrompt, DecisionNote, Inbound, InboundBody, Outbound,
    Replier,
};
pub use access::{AccessPolicy, PlatformAccess, Role};

use crate::agent::{Agent, AgentError, Decided, DecidedBy, TurnOutcome};
use crate::chat::Turn;
use crate::llm::CallTags;
use crate::store::{Decision, SharedStore, StoreError};
use crate::tasks::TaskBook;
use std::sync::Arc;
use std::time::Duration;

/// Longest message accepted from a person, in characters.
pub const MAX_MESSAGE_CHARS: usize = 8_000;

pub struct Core {
    pub agent: Arc<Agent>,
    pub store: SharedStore,
    /// Who the config file lets in (the seed); the store's grants add to it.
    pub access: AccessPolicy,
    /// The scheduled tasks, for `/tasks`.
    pub tasks: Arc<dyn TaskBook>,
    team: TeamParts,
}

/// What managing the team from chat needs beyond the core's own parts.
#[derive(Clone, Default)]
pub struct TeamParts {
    /// Every connection this process runs, to send access requests and tell people.
    pub deliveries: crate::chat::Deliveries,
    /// `[team] requests_to`.
    pub requests_to: Option<crate::config::NotifyConfig>,
    /// Each platform's title, by platform name, for the requests' words.
    pub titles: std::collections::BTreeMap<String, String>,
}

/// How a message's words reached fanops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Typed,
    /// Heard in a voice note.
    Spoken,
}

/// A stranger is answered at most this often.
const STRANGER_REPLY_EVERY: Duration = Duration::from_secs(60);

const HELP: &str = "\
I'm your agency assistant. Ask me in plain words, for example:
- How much did we earn this week?
- Who are my top fans this month?
- How are my tracking links performing?

Anything that changes data (sending a message, editing a link…) is summarised first and runs only after an operator or admin confirms.

Commands:
/reset — forget this conversation
/usage — what the assistant has cost in the last 30 days (/usage 7d by user, /usage chart, /usage activity, /usage csv)
/budget — this month's budgets and what is left (admins: /budget set 80000)
/tasks — scheduled tasks: schedule, state, last and next run (/tasks mine: those you made)
/team — who may use this bot, with their roles, and who is waiting
/role — change someone's role (admins): /role 123456789 operator, /role 123456789 remove
/events — real-time events of the last 24 hours and what each alert rule did (/events tip: one kind)
/whoami — your user id and role
/help — this message";

const YES: &[&str] = &[
    "yes", "y", "confirm", "ok", "okay", "go ahead", "do it", "sure",
];
const NO: &[&str] = &["no", "n", "cancel", "stop", "don't", "dont", "abort"];

impl Core {
    pub fn new(
        agent: Arc<Agent>,
        store: SharedStore,
        access: AccessPolicy,
        tasks: Arc<dyn TaskBook>,
        team: TeamParts,
    ) -> Core {
        Core {
            agent,
            store,
            access,
            tasks,
            team,
        }
    }

    pub async fn handle(&self, inbound: Inbound, replier: &dyn Replier) {
        let label = crate::metrics::PlatformLabel {
            platform: inbound.platform.clone(),
        };
        crate::metrics::get().messages.get_or_create(&label).inc();
        let whoami = matches!(&inbound.body, InboundBody::Text(t) if command_name(t).as_deref() == Some("whoami"));
        let role = match self.role_of(&inbound.connection, &inbound.user).await {
            Ok(role) => role,
            Err(e) => {
                tracing::error!(error = %e, "could not read the team from the store");
                replier.reply(Outbound::text(crate::llm::STORE_DOWN)).await;
                return;
            }
        };
        let Some(role) = role else {
            return self.stranger(&inbound, whoami, replier).await;
        };
        if whoami {
            let text = format!(
                "Your user id is {} and your role is {}.",
                inbound.user,
                role.as_str()
            );
            replier.reply(Outbound::text(text)).await;
            return;
        }
        let (started, since) = (std::time::Instant::now(), chrono::Utc::now());
        let (out, outcome) = match self.dispatch(&inbound, role, replier).await {
            Ok(out) => (out, "answered"),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), conversation = %inbound.conversation(), "turn failed");
                (Outbound::text(failure_sentence(&e)), "failed")
            }
        };
        replier.reply(out).await;
        self.log_turn(&inbound, outcome, started, since).await;
    }

    /// A stranger's request goes to the admins, and they are told their id (one answer a
    /// minute at most) and, only when it is so, that an admin has their request; no model
    /// call, no API call, no history.
    async fn stranger(&self, inbound: &Inbound, whoami: bool, replier: &dyn Replier) {
        let asked = self.request_access(inbound).await.unwrap_or_else(|e| {
            tracing::warn!(error = %format!("{e:#}"), connection = %inbound.connection, "could not open an access request");
            false
        });
        if !self.may_answer_stranger(inbound).await {
            return;
        }
        let user = &inbound.user;
        let text = match (whoami, asked) {
            (true, _) => format!("Your user id is {user}."),
            (false, true) => format!(
                "You're not allowed to use this bot yet. Your user id is {user}: your request is with the admins, and you'll hear from me here when one lets you in."
            ),
            (false, false) => format!(
                "You're not allowed to use this bot. Your user id is {user}: an admin can let you in with it."
            ),
        };
        replier.reply(Outbound::text(text)).await;
    }

    /// One info line per message handled, so an operator can follow the bot: where, what
    /// kind, how long it took and what it cost.
    async fn log_turn(
        &self,
        inbound: &Inbound,
        outcome: &str,
        started: std::time::Instant,
        since: chrono::DateTime<chrono::Utc>,
    ) {
        if !tracing::enabled!(tracing::Level::INFO) {
            return;
        }
        let conversation = inbound.conversation();
        let credits = self
            .store
            .conversation_credits(&conversation, since)
            .await
            .unwrap_or(0.0);
        let kind = turn_kind(&inbound.body);
        let what = match kind {
            "decision" => "decided a pending action",
            "command" => "answered a command",
            _ => "answered a message",
        };
        tracing::info!(
            platform = %inbound.platform,
            conversation = %conversation,
            kind,
            outcome,
            duration_ms = started.elapsed().as_millis() as u64,
            credits = format!("{credits:.2}"),
            "{what}"
        );
    }

    /// At most one answer a minute to each stranger, across restarts and replicas (noted
    /// in the store); when the store cannot say, the stranger is not answered.
    async fn may_answer_stranger(&self, inbound: &Inbound) -> bool {
        let now = self.agent.clock().now();
        let quiet_since =
            now - chrono::Duration::from_std(STRANGER_REPLY_EVERY).unwrap_or_default();
        self.store
            .note_refusal(&inbound.connection, &inbound.user, now, quiet_since)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not note a refusal; not answering the stranger");
                false
            })
    }

    /// Routes one message: a press to the agent's decision, a command to its answer, a
    /// plain "yes"/"no" to the change that waits, anything else to the agent.
    async fn dispatch(
        &self,
        inbound: &Inbound,
        role: Role,
        replier: &dyn Replier,
    ) -> anyhow::Result<Outbound> {
        let text = match &inbound.body {
            InboundBody::Decision {
                action_id,
                decision,
            } => {
                return self
                    .decide(inbound, role, action_id, *decision, replier)
                    .await;
            }
            InboundBody::Access { request_id, choice } => {
                return self.decide_access(inbound, role, request_id, *choice).await;
            }
            InboundBody::Media { text, media } => {
                return self.media(inbound, role, text, media, replier).await;
            }
            InboundBody::Text(text) => text.trim(),
        };
        if let Some(out) = unfit_message(text) {
            return Ok(out);
        }
        if let Some(command) = text.strip_prefix('/') {
            let words: Vec<&str> = command.split_whitespace().skip(1).collect();
            match command_name(text).as_deref() {
                Some("budget") => return self.budget_command(inbound, role, &words).await,
                Some("team") => return self.team_command(inbound).await,
                Some("role") => return self.role_command(inbound, role, &words).await,
                Some("tasks") => return self.tasks_command(command, inbound).await,
                _ => {}
            }
            return self.command(&inbound.conversation(), command).await;
        }
        self.converse(inbound, role, text, &[], Said::Typed, replier)
            .await
    }

    /// Answers a person's words (and the pictures beside them) through the agent, unless
    /// they are a plain "yes" or "no" to the change that waits: typed, that decides it;
    /// heard in a voice note, it does not (a mis-heard word must not send anything).
    async fn converse(
        &self,
        inbound: &Inbound,
        role: Role,
        text: &str,
        images: &[crate::llm::ImagePart],
        said: Said,
        replier: &dyn Replier,
    ) -> anyhow::Result<Outbound> {
        // Before anything reads the history: an action that expired undecided is recorded
        // as expired, so the model never sees it as still waiting.
        let expired = self.agent.expire_due(&inbound.conversation()).await?;
        if let Some(decision) = plain_decision(text) {
            let decided = match said {
                Said::Typed => {
                    self.decide_open(inbound, role, decision, &expired, replier)
                        .await?
                }
                Said::Spoken => self.spoken_decision(inbound, &expired).await?,
            };
            if let Some(out) = decided {
                return Ok(out);
            }
        }
        let turn = self.turn(inbound, role);
        let progress = || replier.working();
        let outcome = self.agent.ask_with(&turn, text, images, &progress).await;
        Ok(answer(outcome)?)
    }

    /// A spoken "yes" or "no" while a change waits (or just expired): the person is asked
    /// to press or type it. None when nothing waits: the words go to the agent.
    async fn spoken_decision(
        &self,
        inbound: &Inbound,
        expired: &[crate::store::PendingAction],
    ) -> anyhow::Result<Option<Outbound>> {
        let now = self.agent.clock().now();
        let open = self.store.open_action(&inbound.conversation(), now).await?;
        Ok((open.is_some() || !expired.is_empty()).then(|| {
            Outbound::text(
                "I don't take spoken answers to a change that waits: press Confirm or Cancel on it, or type yes or no.",
            )
        }))
    }

    /// A plain "yes" or "no" decides the conversation's open action; one to an action
    /// that just expired is told so without asking the model. None when nothing waits or
    /// just expired: the words go to the agent like any message.
    async fn decide_open(
        &self,
        inbound: &Inbound,
        role: Role,
        decision: Decision,
        expired: &[crate::store::PendingAction],
        replier: &dyn Replier,
    ) -> anyhow::Result<Option<Outbound>> {
        let conversation = inbound.conversation();
        let now = self.agent.clock().now();
        if let Some(open) = self.store.open_action(&conversation, now).await? {
            let out = self
                .decide(inbound, role, &open.id, decision, replier)
                .await?;
            return Ok(Some(out));
        }
        Ok(expired
            .last()
            .map(|action| Outbound::text(self.agent.expired_answer(action))))
    }

    async fn command(&self, conversation: &str, command: &str) -> anyhow::Result<Outbound> {
        let name = command_name(&format!("/{command}")).unwrap_or_default();
        Ok(match name.as_str() {
            "start" => {
                self.store.clear_history(conversation).await?;
                let first = self.store.claim("introduced", conversation).await?;
                Outbound::text(if first {
                    format!("Hi! I'm fanops, your agency assistant. I answer from your creators' live OnlyFans data.\n\n{HELP}")
                } else {
                    "Fresh start: I've cleared this conversation.".to_string()
                })
            }
            "reset" => {
                self.store.clear_history(conversation).await?;
                Outbound::text("Done: I've forgotten this conversation.")
            }
            "usage" => {
                let words = command
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, w)| w);
                self.usage_command(words).await?
            }
            "events" => {
                let kind = command.split_whitespace().nth(1).map(str::to_string);
                let filter = crate::store::EventFilter {
                    since: Some(self.agent.clock().now() - chrono::Duration::hours(24)),
                    kind,
                    limit: 20,
                };
                let listing = crate::events::log::recent(self.store.as_ref(), &filter).await?;
                Outbound::text(crate::events::log::render(&listing))
            }
            "help" => Outbound::text(HELP),
            other => Outbound::text(format!("I don't know the command /{other}.\n\n{HELP}")),
        })
    }

    /// Routes a decision to the agent, which owns it from the press to the answer.
    async fn decide(
        &self,
        inbound: &Inbound,
        role: Role,
        action_id: &str,
        decision: Decision,
        replier: &dyn Replier,
    ) -> anyhow::Result<Outbound> {
        let turn = self.turn(inbound, role);
        let by = DecidedBy {
            user: &inbound.user,
            user_name: &inbound.user_name,
            role,
        };
        let progress = || replier.working();
        let decided = self
            .agent
            .decide(&turn, &by, action_id, decision, &progress)
            .await?;
        Ok(match decided {
            Decided::Refused(why) => Outbound::text(why),
            Decided::Cancelled(action) => Outbound {
                text: format!("Cancelled: {}. Nothing was changed.", action.summary),
                decided: Some(note_of(&action, false, inbound)),
                ..Outbound::default()
            },
            Decided::CommandRan { action, result } => Outbound {
                text: result,
                decided: Some(note_of(&action, true, inbound)),
                ..Outbound::default()
            },
            Decided::Ran { action, answer } => {
                let outcome = match answer {
                    // The change ran; only the model's summary of it is refused.
                    Err(AgentError::Budget(spent)) => {
                        Outbound::text(format!("Confirmed and run: {}\n\n{spent}", action.summary))
                    }
                    outcome => self::answer(outcome)?,
                };
                Outbound {
                    decided: Some(note_of(&action, true, inbound)),
                    ..outcome
                }
            }
        })
    }

    fn turn(&self, inbound: &Inbound, role: Role) -> Turn {
        Turn {
            conversation: inbound.conversation(),
            tags: CallTags {
                platform: inbound.platform.clone(),
                connection: inbound.connection.clone(),
                user: inbound.user.clone(),
                kind: RunKind::Chat,
                conversation: Some(inbound.conversation()),
                task: None,
            },
            model: None,
            unattended: false,
            allow_writes: Vec::new(),
            role,
        }
    }
}

/// The reply to a turn: its outcome, or the plain answer when a budget is spent.
fn answer(outcome: Result<TurnOutcome, AgentError>) -> Result<Outbound, AgentError> {
    match outcome {
        Ok(outcome) => Ok(render(outcome)),
        Err(AgentError::Budget(spent)) => Ok(Outbound::text(spent.to_string())),
        Err(e) => Err(e),
    }
}

fn render(outcome: TurnOutcome) -> Outbound {
    match outcome {
        TurnOutcome::Answer(text, attachments) => Outbound {
            text,
            attachments,
            ..Outbound::default()
        },
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
                ..Outbound::default()
            }
        }
    }
}

fn note_of(
    action: &crate::store::PendingAction,
    confirmed: bool,
    inbound: &Inbound,
) -> DecisionNote {
    DecisionNote {
        action_id: action.id.clone(),
        summary: action.summary.clone(),
        confirmed,
        by: inbound.user_name.clone(),
        verdict: if confirmed {
            "✅ Confirmed"
        } else {
            "✖️ Cancelled"
        }
        .into(),
    }
}

/// What a person is told when a turn fails: what failed and what to do, in plain words.
/// The cause chain goes to the log, never to the chat.
fn failure_sentence(error: &anyhow::Error) -> String {
    use crate::llm::LlmError;
    let llm =
        error
            .downcast_ref::<LlmError>()
            .or_else(|| match error.downcast_ref::<AgentError>() {
                Some(AgentError::Llm(e)) => Some(e),
                _ => None,
            });
    let store = error.downcast_ref::<StoreError>().is_some()
        || matches!(
            error.downcast_ref::<AgentError>(),
            Some(AgentError::Store(_))
        )
        || matches!(llm, Some(LlmError::Store(_)));
    if store {
        return crate::llm::STORE_DOWN.into();
    }
    match (llm, error.downcast_ref::<AgentError>()) {
        (Some(e), _) => e.for_person(),
        (None, Some(AgentError::Api(e))) => format!("Sorry, I could not answer: {e}."),
        _ => "Sorry, something went wrong on my side and I could not finish. An admin can find the cause in the logs.".into(),
    }
}

/// The answer to a message that is too long or empty, instead of reading it.
fn unfit_message(text: &str) -> Option<Outbound> {
    let length = text.chars().count();
    if length > MAX_MESSAGE_CHARS {
        return Some(Outbound::text(format!(
            "Your message is {length} characters long; the limit is {MAX_MESSAGE_CHARS}. Please shorten it."
        )));
    }
    text.is_empty().then(|| Outbound::text(HELP))
}

/// The decision a plain "yes" or "no" (and their synonyms) stands for.
fn plain_decision(text: &str) -> Option<Decision> {
    let lowered = text.to_lowercase();
    let lowered = lowered.trim_end_matches(['.', '!']);
    if YES.contains(&lowered) {
        Some(Decision::Confirm)
    } else if NO.contains(&lowered) {
        Some(Decision::Cancel)
    } else {
        None
    }
}

/// What a person sent, for the log: a button press or a yes/no is a decision.
fn turn_kind(body: &InboundBody) -> &'static str {
    match body {
        InboundBody::Decision { .. } | InboundBody::Access { .. } => "decision",
        InboundBody::Media { .. } => "message",
        InboundBody::Text(text) if text.trim().starts_with('/') => "command",
        InboundBody::Text(text) => {
            let lowered = text.trim().to_lowercase();
            let lowered = lowered.trim_end_matches(['.', '!']);
            if YES.contains(&lowered) || NO.contains(&lowered) {
                "decision"
            } else {
                "message"
            }
        }
    }
}

/// `/reset@fanops_bot now` → `reset`; None when the text is not a command.
fn command_name(text: &str) -> Option<String> {
    let word = text
        .trim()
        .strip_prefix('/')?
        .split_whitespace()
        .next()
        .unwrap_or("");
    // A platform may append the bot's name in groups: /reset@fanops_bot.
    Some(word.split('@').next().unwrap_or(word).to_lowercase())
}
