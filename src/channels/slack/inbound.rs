//! What fanops takes from Slack's events: which messages are for it (a DM, a mention, a
//! thread it follows; never a bot's, an edit or a join), which presses are its buttons,
//! and the text without the mention.

use super::files::SharedFile;
use super::Slack;
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::*;

/// What fanops takes from a Slack event, kept with its claim to be handled again
/// should this process die first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Request {
    /// A message for the bot: in a DM, mentioning it, or in a thread it follows.
    Message {
        channel: String,
        ts: String,
        /// The thread to answer in.
        thread: Option<String>,
        direct: bool,
        user: String,
        text: String,
        /// Files shared with the message (audio, images, CSVs), not yet downloaded.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<SharedFile>,
    },
    /// A press of one of fanops's buttons (Confirm / Cancel, or an access request's).
    Press {
        channel: String,
        thread: Option<String>,
        direct: bool,
        prompt_ts: String,
        user: String,
        value: String,
    },
}

/// A person's message in a Slack event, before fanops decides whether it is for it.
struct Said {
    channel: String,
    ts: String,
    /// The thread it was posted in, if any.
    thread: Option<String>,
    user: String,
    text: String,
    direct: bool,
    files: Vec<SharedFile>,
}

impl Slack {
    /// The request in an event for fanops, if it is one.
    pub(super) async fn request_of(
        &self,
        event: &SlackEventCallbackBody,
    ) -> Option<(String, Request)> {
        let me = self.me.get()?;
        let said = said_in(event)?;
        if &said.user == me {
            return None;
        }
        let thread = self.answer_thread(&said, mentions(&said.text, me)).await?;
        let id = format!("msg:{}:{}", said.channel, said.ts);
        let text = unescape(&without_mention(&said.text, me));
        let request = Request::Message {
            channel: said.channel,
            ts: said.ts,
            thread,
            direct: said.direct,
            user: said.user,
            text,
            files: said.files,
        };
        Some((id, request))
    }

    /// Where to answer a message, if it is for fanops: a DM where it was said, a mention
    /// in its thread (starting one), channel chatter only in a thread fanops follows.
    /// `None` when the message is not for fanops; `Some(None)` answers outside a thread.
    async fn answer_thread(&self, said: &Said, mentioned: bool) -> Option<Option<String>> {
        if said.direct {
            return Some(said.thread.clone());
        }
        if mentioned {
            return Some(Some(said.thread.clone().unwrap_or_else(|| said.ts.clone())));
        }
        let thread = said.thread.clone()?;
        match self
            .store
            .is_followed(&self.name, &said.channel, &thread)
            .await
        {
            Ok(true) => Some(Some(thread)),
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not tell whether a Slack thread is followed; ignoring a message in it");
                None
            }
        }
    }

    /// The press in an interaction, if it is one of a message's buttons.
    pub(super) fn press_of(event: &SlackInteractionEvent) -> Option<(String, Request)> {
        let SlackInteractionEvent::BlockActions(actions) = event else {
            return None;
        };
        let SlackInteractionActionContainer::Message(container) = &actions.container else {
            return None;
        };
        let action = actions.actions.as_ref()?.first()?;
        let channel = container
            .channel_id
            .as_ref()
            .or(actions.channel.as_ref().map(|c| &c.id))?
            .0
            .clone();
        let thread = actions
            .message
            .as_ref()
            .and_then(|m| m.origin.thread_ts.as_ref())
            .map(|t| t.0.clone());
        let id = format!("press:{}", actions.trigger_id.0);
        let request = Request::Press {
            direct: channel.starts_with('D'),
            channel,
            thread,
            prompt_ts: container.message_ts.0.clone(),
            user: actions.user.as_ref()?.id.0.clone(),
            value: action.value.clone().unwrap_or_default(),
        };
        Some((id, request))
    }
}

/// The person's message in an event: a message or a mention of the bot.
fn said_in(event: &SlackEventCallbackBody) -> Option<Said> {
    match event {
        SlackEventCallbackBody::Message(m) => said_in_message(m),
        SlackEventCallbackBody::AppMention(m) => Some(Said {
            channel: m.channel.0.clone(),
            ts: m.origin.ts.0.clone(),
            thread: m.origin.thread_ts.as_ref().map(|t| t.0.clone()),
            user: m.user.0.clone(),
            text: m.content.text.clone()?,
            direct: false,
            files: SharedFile::of(m.content.files.as_deref().unwrap_or_default()),
        }),
        _ => None,
    }
}

/// A message event, if a person posted it.
fn said_in_message(m: &SlackMessageEvent) -> Option<Said> {
    // Edits, joins, bot posts and the like have a subtype; a person's message
    // with a file, or a thread reply also sent to the channel, is still theirs.
    let by_a_person = matches!(
        m.subtype,
        None | Some(SlackMessageEventType::FileShare)
            | Some(SlackMessageEventType::ThreadBroadcast)
    );
    if !by_a_person || m.sender.bot_id.is_some() || m.hidden == Some(true) {
        return None;
    }
    let channel = m.origin.channel.as_ref()?.0.clone();
    let direct = m
        .origin
        .channel_type
        .as_ref()
        .map_or(channel.starts_with('D'), |t| t.0 == "im");
    let content = m.content.as_ref()?;
    let files = SharedFile::of(content.files.as_deref().unwrap_or_default());
    let text = match (&content.text, files.is_empty()) {
        (Some(text), _) => text.clone(),
        (None, false) => String::new(),
        (None, true) => return None,
    };
    Some(Said {
        channel,
        ts: m.origin.ts.0.clone(),
        thread: m.origin.thread_ts.as_ref().map(|t| t.0.clone()),
        user: m.sender.user.as_ref()?.0.clone(),
        text,
        direct,
        files,
    })
}

/// Whether an event's raw JSON says a bot sent it (`bot_id`), which slack-morphism's
/// `app_mention` type does not keep.
pub(super) fn from_bot(callback: &serde_json::Value) -> bool {
    !callback["event"]["bot_id"].is_null()
}

/// Whether `text` mentions member `me` (`<@U…>` or `<@U…|name>`).
fn mentions(text: &str, me: &str) -> bool {
    text.contains(&format!("<@{me}>")) || text.contains(&format!("<@{me}|"))
}

/// `text` without its mentions of `me`, trimmed.
fn without_mention(text: &str, me: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let open = format!("<@{me}");
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        match after.find('>') {
            Some(end) if after.starts_with(['>', '|']) => {
                out.push_str(&rest[..at]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..at + open.len()]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Slack escapes `&`, `<` and `>` in message text.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// How a member reads in an access request: their display name (else real name), and
/// their handle; None when Slack gave neither name.
pub(super) fn describe_member(user: &slack_morphism::prelude::SlackUser) -> Option<String> {
    let filled = |name: &Option<String>| name.clone().filter(|n| !n.trim().is_empty());
    let profile = user.profile.as_ref();
    let shown = profile
        .and_then(|p| filled(&p.display_name).or_else(|| filled(&p.real_name)))
        .or_else(|| filled(&user.real_name))?;
    Some(match filled(&user.name) {
        Some(handle) => format!("{shown} (@{handle})"),
        None => shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_of_the_bot_are_found_and_removed() {
        assert!(mentions("<@UBOT> hi", "UBOT"));
        assert!(mentions("hey <@UBOT|fanops> hi", "UBOT"));
        assert!(!mentions("<@UBOTX> hi", "UBOT"));
        assert_eq!(without_mention("<@UBOT> /reset", "UBOT"), "/reset");
        assert_eq!(
            without_mention("hey <@UBOT|fanops>  what about <@U2>?", "UBOT"),
            "hey what about <@U2>?"
        );
        assert_eq!(unescape("a &lt;b&gt; &amp;amp;"), "a <b> &amp;");
    }
}
