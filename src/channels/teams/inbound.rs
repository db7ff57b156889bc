//! What fanops takes from a Bot Framework activity: who wrote (their Microsoft Entra
//! object id), where (a personal chat, a channel thread, a group chat), whether it is for
//! fanops (personal: always; elsewhere: an @mention of the bot, or a thread it follows),
//! the text without the mention, and presses of its Adaptive Card buttons.

use super::files::Upload;
use super::media::{attached_of, Attached};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The parts of an activity fanops reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Activity {
    #[serde(rename = "type")]
    pub kind: String,
    /// An invoke's name (`fileConsent/invoke`).
    pub name: Option<String>,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub service_url: String,
    #[serde(default)]
    pub channel_id: String,
    pub from: Option<Account>,
    pub recipient: Option<Account>,
    pub conversation: Option<Conversation>,
    pub text: Option<String>,
    #[serde(default)]
    pub entities: Vec<Value>,
    pub value: Option<Value>,
    pub reply_to_id: Option<String>,
    pub channel_data: Option<Value>,
    #[serde(default)]
    pub attachments: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Account {
    #[serde(default)]
    pub id: String,
    pub name: Option<String>,
    pub aad_object_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Conversation {
    pub id: String,
    pub conversation_type: Option<String>,
    pub tenant_id: Option<String>,
}

/// Where an activity was said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Place {
    Personal,
    Channel,
    Group,
}

/// A message or press for fanops, kept with its claim to be handled again should this
/// process die first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Request {
    pub service_url: String,
    /// The conversation answers go to (a channel thread's: `<channel>;messageid=<root>`).
    pub conversation: String,
    /// The personal or group chat's id, or the channel's (without the thread).
    pub chat: String,
    /// A channel thread's root message id.
    pub thread: Option<String>,
    pub place: Place,
    /// Their Microsoft Entra object id (lower case).
    pub user: String,
    /// Their id in the conversation (`29:…`).
    pub member: String,
    pub user_name: String,
    pub tenant: Option<String>,
    pub said: Said,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Said {
    Text {
        text: String,
        /// Whether it @mentions the bot.
        mentioned: bool,
        /// The images, audio and files attached (not yet downloaded).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attached: Vec<Attached>,
    },
    /// An `Action.Submit` of one of fanops's cards: its payload and the card's activity.
    Press {
        payload: String,
        prompt: Option<String>,
    },
    /// The person's answer to a file consent card: where to upload, or `None` (declined).
    Consent {
        file: String,
        upload: Option<Upload>,
    },
}

impl Request {
    /// Whether it asks anything of fanops: a press, or a message with words or media in
    /// it.
    pub(super) fn asks(&self) -> bool {
        match &self.said {
            Said::Press { .. } | Said::Consent { .. } => true,
            Said::Text { text, attached, .. } => !text.is_empty() || !attached.is_empty(),
        }
    }
}

impl Activity {
    /// The tenant the activity came from.
    fn tenant(&self) -> Option<String> {
        let conversation = self.conversation.as_ref()?;
        conversation.tenant_id.clone().or_else(|| {
            let data = self.channel_data.as_ref()?;
            data["tenant"]["id"].as_str().map(str::to_string)
        })
    }

    /// What fanops reads of a person's activity (a message, a press, an install that
    /// tells where they are); `None` for the bot's own and for anything without a person.
    pub(super) fn request(&self) -> Option<(String, Request)> {
        let from = self.from.as_ref()?;
        let me = self.recipient.as_ref()?;
        if from.id.is_empty() || from.id == me.id {
            return None;
        }
        let conversation = self.conversation.as_ref()?;
        let place = match conversation.conversation_type.as_deref() {
            Some("personal") | None => Place::Personal,
            Some("channel") => Place::Channel,
            Some(_) => Place::Group,
        };
        let (chat, thread) = match place {
            Place::Channel => {
                let (channel, root) = match conversation.id.split_once(";messageid=") {
                    Some((channel, root)) => (channel.to_string(), root.to_string()),
                    None => (conversation.id.clone(), self.id.clone()),
                };
                (channel, Some(root))
            }
            _ => (conversation.id.clone(), None),
        };
        let reply_to = match &thread {
            Some(root) => format!("{chat};messageid={root}"),
            None => chat.clone(),
        };
        let said = match self.value.as_ref().and_then(|v| v["fo"].as_str()) {
            _ if self.kind == "invoke" => self.consent()?,
            Some(payload) => Said::Press {
                payload: payload.to_string(),
                prompt: self.reply_to_id.clone(),
            },
            None => {
                let text = self.text.clone().unwrap_or_default();
                Said::Text {
                    mentioned: self.mentions(&me.id),
                    text: clean(&without_mentions(&text, &self.entities, &me.id)),
                    attached: attached_of(&self.attachments, &self.service_url),
                }
            }
        };
        let user = from
            .aad_object_id
            .clone()
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| from.id.clone())
            .to_ascii_lowercase();
        let request = Request {
            service_url: self.service_url.clone(),
            conversation: reply_to,
            chat,
            thread,
            place,
            user,
            member: from.id.clone(),
            user_name: from.name.clone().unwrap_or_else(|| from.id.clone()),
            tenant: self.tenant(),
            said,
        };
        Some((format!("{}:{}", conversation.id, self.id), request))
    }

    /// A `fileConsent/invoke`: the person accepted or declined one of fanops's files.
    fn consent(&self) -> Option<Said> {
        if self.name.as_deref() != Some("fileConsent/invoke") {
            return None;
        }
        let value = self.value.as_ref()?;
        let file = value["context"]["fo_file"].as_str()?.to_string();
        let text = |v: &Value| v.as_str().map(str::to_string);
        let info = &value["uploadInfo"];
        let upload = match value["action"].as_str() {
            Some("accept") => Some(Upload {
                upload_url: text(&info["uploadUrl"])?,
                content_url: text(&info["contentUrl"])?,
                name: text(&info["name"])?,
                unique_id: text(&info["uniqueId"]),
                file_type: text(&info["fileType"]),
            }),
            _ => None,
        };
        Some(Said::Consent { file, upload })
    }

    /// Whether a mention entity names the bot.
    fn mentions(&self, me: &str) -> bool {
        self.entities
            .iter()
            .any(|e| e["type"] == "mention" && e["mentioned"]["id"].as_str() == Some(me))
    }
}

/// `text` without the `<at>…</at>` of each mention of the bot.
fn without_mentions(text: &str, entities: &[Value], me: &str) -> String {
    let mut out = text.to_string();
    for entity in entities {
        if entity["type"] == "mention" && entity["mentioned"]["id"].as_str() == Some(me) {
            if let Some(tag) = entity["text"].as_str().filter(|t| !t.is_empty()) {
                out = out.replace(tag, " ");
            }
        }
    }
    out
}

/// The words of a message as the person typed them: Teams sends a little HTML (tags,
/// entities, non-breaking spaces).
fn clean(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain
        .replace("&nbsp;", " ")
        .replace('\u{a0}', " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn activity(conversation: Value, text: &str, entities: Value) -> Activity {
        serde_json::from_value(json!({
            "type": "message",
            "id": "1700000000001",
            "serviceUrl": "https://smba.example/amer/",
            "channelId": "msteams",
            "from": {"id": "29:1jane", "name": "Jane", "aadObjectId": "AAAA-1"},
            "recipient": {"id": "28:bot", "name": "fanops"},
            "conversation": conversation,
            "text": text,
            "entities": entities,
        }))
        .unwrap()
    }

    #[test]
    fn a_channel_mention_starts_a_thread_without_the_mention() {
        let a = activity(
            json!({"id": "19:c@thread.tacv2", "conversationType": "channel", "tenantId": "t1"}),
            "<at>fanops</at> how much&nbsp;did we earn &amp; why?",
            json!([{"type": "mention", "text": "<at>fanops</at>", "mentioned": {"id": "28:bot"}}]),
        );
        let (id, request) = a.request().unwrap();
        assert_eq!(id, "19:c@thread.tacv2:1700000000001");
        assert_eq!(request.chat, "19:c@thread.tacv2");
        assert_eq!(request.thread.as_deref(), Some("1700000000001"));
        assert_eq!(
            request.conversation,
            "19:c@thread.tacv2;messageid=1700000000001"
        );
        assert_eq!(request.user, "aaaa-1");
        assert_eq!(
            request.said,
            Said::Text {
                text: "how much did we earn & why?".into(),
                mentioned: true,
                attached: Vec::new(),
            }
        );
    }

    #[test]
    fn a_reply_in_a_thread_names_its_root_and_others_mentions_are_not_the_bots() {
        let a = activity(
            json!({"id": "19:c@thread.tacv2;messageid=17", "conversationType": "channel"}),
            "<at>Mia</at> and more",
            json!([{"type": "mention", "text": "<at>Mia</at>", "mentioned": {"id": "29:mia"}}]),
        );
        let (_, request) = a.request().unwrap();
        assert_eq!(request.thread.as_deref(), Some("17"));
        assert!(matches!(
            request.said,
            Said::Text {
                mentioned: false,
                ..
            }
        ));
    }
}
