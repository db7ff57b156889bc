//! Unattended posts to Teams (scheduled posts, alerts, access requests, "you're in"):
//! each goes through the conversation reference kept when someone last wrote there, or,
//! for a person fanops has seen but never chatted with alone, a personal chat it opens.

use super::reference::Reference;
use super::reply::Target;
use super::Teams;
use crate::channels::outbox::SendFailure;
use crate::chat::{Attachment, Delivery, DeliveryFailure, Outbound, Recipient};

fn failed(posted: usize, failure: SendFailure) -> DeliveryFailure {
    DeliveryFailure {
        posted,
        retry: matches!(failure, SendFailure::Later(_)),
        message: failure.message().to_string(),
    }
}

fn unknown(posted: usize, message: String) -> DeliveryFailure {
    DeliveryFailure {
        posted,
        retry: false,
        message,
    }
}

impl Teams {
    /// Where chat `to` is: a conversation someone wrote in, or, for an object id, that
    /// person's personal chat.
    async fn place_of_chat(&self, to: &str) -> Result<Target, String> {
        if let Some(reference) = self.references.conversation(to).await {
            return Ok(Target {
                shelf: reference.personal.then(|| self.shelf.clone()),
                service_url: reference.service_url,
                conversation: to.to_string(),
            });
        }
        if super::section::is_guid(to) {
            return self.place_of_person(to).await;
        }
        Err(format!(
            "no one has written to the bot in Teams conversation `{to}` yet, so fanops does not know where it is: write to the bot there once"
        ))
    }

    /// A person's personal chat with the bot, opened first when fanops knows them only
    /// from a channel.
    async fn place_of_person(&self, user: &str) -> Result<Target, String> {
        let Some(reference) = self.references.person(user).await else {
            return Err(format!(
                "`{user}` has not written to the bot in Teams yet: they need to open a chat with it once"
            ));
        };
        if let Some(conversation) = &reference.conversation {
            return Ok(Target {
                service_url: reference.service_url.clone(),
                conversation: conversation.clone(),
                shelf: Some(self.shelf.clone()),
            });
        }
        let member = reference.member.clone().unwrap_or_default();
        let opened = self
            .connector
            .open_personal(
                &reference.service_url,
                &self.bot_id(),
                &member,
                reference.tenant.as_deref(),
            )
            .await
            .map_err(|f| f.message().to_string())?;
        let kept = Reference {
            conversation: Some(opened.clone()),
            ..reference.clone()
        };
        self.references.opened(user, &kept).await;
        Ok(Target {
            service_url: reference.service_url,
            conversation: opened,
            shelf: Some(self.shelf.clone()),
        })
    }
}

#[async_trait::async_trait]
impl Delivery for Teams {
    /// Posts to a conversation id (a channel's, a chat's) or, for a person's object id,
    /// their personal chat.
    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        let to = to.trim();
        let place = self.place_of_chat(to).await.map_err(|m| unknown(skip, m))?;
        let out = Outbound {
            text: text.to_string(),
            attachments: files.to_vec(),
            ..Outbound::default()
        };
        place
            .post_all(&self.connector, &out, skip)
            .await
            .map_err(|(posted, failure)| failed(posted, failure))
    }

    /// A person gets it in their personal chat with the bot, a chat in that conversation;
    /// either way with its buttons.
    async fn notify(&self, to: Recipient<'_>, out: &Outbound) -> Result<(), DeliveryFailure> {
        let place = match to {
            Recipient::Person(user) => self.place_of_person(user.trim()).await,
            Recipient::Chat(chat) => self.place_of_chat(chat.trim()).await,
        }
        .map_err(|m| unknown(0, m))?;
        place
            .post_all(&self.connector, out, 0)
            .await
            .map_err(|(posted, failure)| failed(posted, failure))
    }
}
