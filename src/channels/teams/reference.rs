//! Conversation references: where a conversation's `serviceUrl` is, kept in the store
//! from every verified activity, so that a scheduled post, an access request or the news
//! that a person is in reaches Teams from any process (`fanops tasks run` included) long
//! after the person wrote. A person's reference also keeps their `29:` id, to open a
//! personal chat with them.

use super::inbound::{Place, Request};
use crate::store::SharedStore;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Reference {
    pub service_url: String,
    /// The conversation to post in; for a person, their personal chat when known.
    pub conversation: Option<String>,
    pub tenant: Option<String>,
    /// A person's `29:` id.
    pub member: Option<String>,
    /// A personal chat (where files can be offered).
    #[serde(default)]
    pub personal: bool,
}

/// One connection's references in the store.
pub(super) struct References {
    store: SharedStore,
    /// `teams.` or `teams:<account>.`.
    prefix: String,
}

impl References {
    pub fn new(store: SharedStore, prefix: String) -> References {
        References { store, prefix }
    }

    fn conversation_key(&self, id: &str) -> String {
        format!("{}conversation.{id}", self.prefix)
    }

    fn person_key(&self, user: &str) -> String {
        format!("{}person.{}", self.prefix, user.to_ascii_lowercase())
    }

    /// Remembers where `request` was said and who said it.
    pub async fn keep(&self, request: &Request) {
        let conversation = Reference {
            service_url: request.service_url.clone(),
            conversation: Some(request.chat.clone()),
            tenant: request.tenant.clone(),
            member: None,
            personal: request.place == Place::Personal,
        };
        let mut facts = vec![(
            self.conversation_key(&request.chat),
            serde_json::to_string(&conversation).unwrap_or_default(),
        )];
        let known = self.person(&request.user).await;
        let personal = match request.place {
            Place::Personal => Some(request.chat.clone()),
            _ => known.and_then(|r| r.conversation),
        };
        let person = Reference {
            service_url: request.service_url.clone(),
            conversation: personal,
            tenant: request.tenant.clone(),
            member: Some(request.member.clone()),
            personal: true,
        };
        facts.push((
            self.person_key(&request.user),
            serde_json::to_string(&person).unwrap_or_default(),
        ));
        if let Err(e) = self.store.set_states(&facts).await {
            tracing::warn!(error = %e, "could not keep a Teams conversation reference");
        }
    }

    /// Where conversation `id` (a personal or group chat, or a channel) is.
    pub async fn conversation(&self, id: &str) -> Option<Reference> {
        self.read(&self.conversation_key(id)).await
    }

    /// Where person `user` (their Microsoft Entra object id) can be reached.
    pub async fn person(&self, user: &str) -> Option<Reference> {
        self.read(&self.person_key(user)).await
    }

    /// Notes the personal chat fanops opened with `user`.
    pub async fn opened(&self, user: &str, reference: &Reference) {
        let key = self.person_key(user);
        let value = serde_json::to_string(reference).unwrap_or_default();
        if let Err(e) = self.store.set_state(&key, &value).await {
            tracing::warn!(error = %e, "could not keep a Teams personal chat");
        }
    }

    async fn read(&self, key: &str) -> Option<Reference> {
        match self.store.state(key).await {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read a Teams conversation reference");
                None
            }
        }
    }
}
