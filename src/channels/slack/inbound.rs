//! What fanops takes from Slack's events: which messages are for it (a DM, a mention, a
//! thread it follows; never a bot's, an edit or a join), which presses are its buttons,
//! and the text without the mention.

use super::{Slack, PLATFORM};
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
    },
    /// A Confirm / Cancel press.
    Press {
        channel: String,
        thread: Option<String>,
        direct: bool,
        prompt_ts: String,
        user: String,
        value: String,
    },
}

impl Slack {
    /// The request in an event for fanops, if it is one .
    pub(super) async fn request_of(
        &self,
        event: &SlackEventCallbackBody,
    ) -> Option<(String, Request)> {
        let me = self.me.get()?;
        let (channel, ts, thread, user, text, direct) = match event {
            SlackEventCallbackBody::Message(m) => {
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
                (
                    channel,
                    m.origin.ts.0.clone(),
                    m.origin.thread_ts.as_ref().map(|t| t.0.clone()),
                    m.sender.user.as_ref()?.0.clone(),
                    m.content.as_ref()?.text.clone()?,
                    direct,
                )
            }
            SlackEventCallbackBody::AppMention(m) => (
                m.channel.0.clone(),
                m.origin.ts.0.clone(),
                m.origin.thread_ts.as_ref().map(|t| t.0.clone()),
                m.user.0.clone(),
                m.content.text.clone()?,
                false,
            ),
            _ => return None,
        };
        if &user == me {
            return None;
        }
        let mentioned = mentions(&text, me);
        let thread = if direct {
            thread
        } else if mentioned {
            Some(thread.unwrap_or_else(|| ts.clone()))
        } else {
            // Chatter in a channel: only a thread fanops follows is for it.
            let thread = thread?;
            match self.store.is_followed(PLATFORM, &channel, &thread).await {
                Ok(true) => Some(thread),
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "could not tell whether a Slack thread is followed; ignoring a message in it");
                    return None;
                }
            }
        };
        let id = format!("msg:{channel}:{ts}");
        let text = unescape(&without_mention(&text, me));
        let request = Request::Message {
            channel,
            ts,
            thread,
            direct,
            user,
            text,
        };
        Some((id, request))
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
