//! From gateway events to turns of the core.
//!
//! serenity hands each event to its own task, so two messages of one thread may arrive
//! here in either order. Each event first joins its channel's lane, ordered by its id
//! (Discord ids grow with time); whoever runs the lane handles what waits in it oldest
//! first and takes the conversation's turn in that order (turns are served first come,
//! first served). A message is answered when it @mentions the bot or is in a thread the
//! bot follows (kept in the store); everything else is ignored before any claim, model or
//! API call. A mention in a server channel starts a thread from that message.

use super::reply::{DiscordReplier, Press};
use super::{Discord, PLATFORM};
use crate::channels::buttons;
use crate::chat::{Inbound, InboundBody};
use crate::store::FollowedThread;
use serde::{Deserialize, Serialize};
use serenity::all::{ChannelId, ComponentInteraction, Message, MessageId, MessageType, User};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// A gateway event fanops answers, as kept with its claim (to handle it again should
/// this process die first).
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub(super) enum Event {
    Message(Box<Message>),
    Press(Box<ComponentInteraction>),
}

/// Channel types that are threads (announcement, public, private).
const THREAD_TYPES: [u64; 3] = [10, 11, 12];
/// Discord: "a thread has already been created for this message".
const THREAD_EXISTS: &str = "code 160004";

/// The lanes of every channel events arrived in.
#[derive(Default)]
pub(super) struct Lanes {
    by_channel: Mutex<HashMap<u64, Arc<Lane>>>,
    /// Threads known to be followed (they never stop being followed).
    followed: Mutex<HashMap<u64, FollowedThread>>,
    /// Channels known not to be threads (a channel's type never changes).
    plain: Mutex<HashSet<u64>>,
}

#[derive(Default)]
struct Lane {
    waiting: Mutex<BTreeMap<u64, Event>>,
    running: tokio::sync::Mutex<()>,
}

impl Lanes {
    /// Puts `event` (id `id`) in `channel`'s lane; returns the lane to run.
    fn push(&self, channel: ChannelId, id: u64, event: Event) -> Arc<Lane> {
        // Under the map's lock, so that a lane is never retired with an event in it.
        let mut lanes = self.by_channel.lock().unwrap_or_else(|e| e.into_inner());
        let lane = lanes.entry(channel.get()).or_default().clone();
        lane.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, event);
        lane
    }

    /// Forgets `channel`'s lane once nothing waits in it (so quiet channels cost no
    /// memory); false when something arrived meanwhile and must be run first.
    fn retire(&self, channel: ChannelId, lane: &Arc<Lane>) -> bool {
        let mut lanes = self.by_channel.lock().unwrap_or_else(|e| e.into_inner());
        if !lane
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            return false;
        }
        if lanes
            .get(&channel.get())
            .is_some_and(|current| Arc::ptr_eq(current, lane))
        {
            lanes.remove(&channel.get());
        }
        true
    }
}

impl Lane {
    fn next(&self) -> Option<Event> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.pop_first().map(|(_, event)| event)
    }
}

/// What a turn answers and where.
struct Place {
    inbound: Inbound,
    /// The channel (a thread, mostly) the answer goes to.
    reply_in: ChannelId,
}

/// How a person is named in notes ("Confirmed by …") and access requests: their display
/// name and their username, `Ana (@ana.k)`, or the username alone.
fn name_of(user: &User) -> String {
    match &user.global_name {
        Some(shown) if *shown != user.name => format!("{shown} (@{})", user.name),
        _ => user.name.clone(),
    }
}

impl Discord {
    /// A message from the gateway: bots' and system messages are ignored.
    pub(super) async fn on_message(self: Arc<Self>, message: Message) {
        if self.runtime.is_stopping()
            || message.author.bot
            || message.webhook_id.is_some()
            || !matches!(
                message.kind,
                MessageType::Regular | MessageType::InlineReply
            )
        {
            return;
        }
        let (channel, id) = (message.channel_id, message.id.get());
        let lane = self
            .lanes
            .push(channel, id, Event::Message(Box::new(message)));
        self.run_lane(channel, &lane).await;
    }

    /// A button press: acknowledged at once (Discord allows 3 seconds), decided in turn.
    pub(super) async fn on_press(self: Arc<Self>, press: ComponentInteraction) {
        if self.runtime.is_stopping() {
            return;
        }
        self.outbox.acknowledge(press.id.get(), &press.token).await;
        let (channel, id) = (press.channel_id, press.id.get());
        let lane = self.lanes.push(channel, id, Event::Press(Box::new(press)));
        self.run_lane(channel, &lane).await;
    }

    /// Handles what waits in the lane, oldest first; a lane someone else runs is left
    /// to them once they are done.
    async fn run_lane(self: &Arc<Self>, channel: ChannelId, lane: &Arc<Lane>) {
        let _running = lane.running.lock().await;
        loop {
            while let Some(event) = lane.next() {
                self.take(event).await;
            }
            if self.lanes.retire(channel, lane) {
                return;
            }
        }
    }

    /// Claims an event fanops answers (so a replayed one is not answered twice) and
    /// starts its turn.
    async fn take(self: &Arc<Self>, event: Event) {
        let id = match &event {
            Event::Message(message) => {
                if self.addressed_text(message).await.is_none() {
                    return;
                }
                format!("m{}", message.id)
            }
            Event::Press(press) => format!("p{}", press.id),
        };
        if self.runtime.claim(&id, &event).await {
            self.begin(event, id, None).await;
        }
    }

    /// Handles again the events whose owner died before answering them.
    pub(super) async fn recover(self: &Arc<Self>) {
        // Telling a message to the bot apart needs the bot's id: until this process has
        // it (a standby never connected), the events are left to one that has.
        if self.me.get().is_none() {
            return;
        }
        for claim in self.runtime.abandoned::<Event>().await {
            let placeholder = claim.placeholder.as_deref().and_then(|p| p.parse().ok());
            self.begin(claim.event, claim.id, placeholder.map(MessageId::new))
                .await;
        }
    }

    /// Takes the conversation's turn (in lane order) and runs it in the background; the
    /// claim `id` is answered when it is done. `placeholder`: the "On it…" an earlier
    /// attempt posted, to edit.
    async fn begin(self: &Arc<Self>, event: Event, id: String, placeholder: Option<MessageId>) {
        let (place, press) = match event {
            Event::Message(message) => (self.place_message(&message).await, None),
            Event::Press(press) => match self.place_press(&press).await {
                Some(place) => {
                    let press = Press {
                        application: press.application_id.get(),
                        token: press.token.clone(),
                        prompt: press.message.id,
                    };
                    (Some(place), Some(press))
                }
                None => (None, None),
            },
        };
        let Some(place) = place else {
            self.runtime.answered(&id).await;
            return;
        };
        let turn = self.outbox.lock_turn(place.reply_in).await;
        let this = self.clone();
        let claim = id.clone();
        self.runtime.spawn_turn(claim, async move {
            let _turn = turn;
            let replier = DiscordReplier::new(&this.outbox, place.reply_in, press)
                .recording(this.runtime.claims.clone(), id)
                .adopting(placeholder);
            this.core.handle(place.inbound, &replier).await;
        });
    }

    /// The message's text without the bot's mention, when the bot is mentioned, the
    /// message is in a followed thread or in its direct messages; `None` for the rest.
    async fn addressed_text(&self, message: &Message) -> Option<String> {
        let me = *self.me.get()?;
        let tags = [format!("<@{me}>"), format!("<@!{me}>")];
        let mentioned = message.mentions_user_id(me)
            || tags
                .iter()
                .any(|tag| message.content.contains(tag.as_str()));
        let direct = message.guild_id.is_none();
        if !direct && !mentioned && self.followed(message.channel_id).await.is_none() {
            return None;
        }
        let mut text = message.content.clone();
        for tag in &tags {
            text = text.replace(tag.as_str(), "");
        }
        Some(text.trim().to_string())
    }

    /// The followed thread with this channel id, if it is one.
    async fn followed(&self, channel: ChannelId) -> Option<FollowedThread> {
        let known = {
            let known = self
                .lanes
                .followed
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            known.get(&channel.get()).cloned()
        };
        if known.is_some() {
            return known;
        }
        match self
            .store
            .followed_thread(&self.name, &channel.to_string())
            .await
        {
            Ok(Some(thread)) => {
                self.remember(thread.clone());
                Some(thread)
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the followed Discord threads");
                None
            }
        }
    }

    /// Follows a thread from now on (store first, so every replica knows it).
    async fn follow(&self, thread: ChannelId, parent: ChannelId) -> FollowedThread {
        let followed = FollowedThread {
            platform: self.name.clone(),
            chat: parent.to_string(),
            thread: thread.to_string(),
            followed_at: self.clock.now(),
        };
        if let Err(e) = self.store.follow_thread(&followed).await {
            tracing::warn!(error = %e, "could not record a followed Discord thread");
        }
        self.remember(followed.clone());
        followed
    }

    fn remember(&self, thread: FollowedThread) {
        if let Ok(id) = thread.thread.parse() {
            let mut known = self
                .lanes
                .followed
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            known.insert(id, thread);
        }
    }

    /// Where a message's turn runs: its followed thread; a thread it mentions the bot in
    /// (followed from now on); or a new thread started from it. A member who may not use
    /// the bot gets their refusal where they wrote, and no thread.
    async fn place_message(&self, message: &Message) -> Option<Place> {
        let text = self.addressed_text(message).await?;
        let channel = message.channel_id;
        let user = message.author.id.to_string();
        let inbound = |chat: String, thread: Option<ChannelId>| Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat,
            thread: thread.map(|t| t.to_string()),
            user: user.clone(),
            user_name: name_of(&message.author),
            private: message.guild_id.is_none(),
            body: match message.attachments.is_empty() {
                true => InboundBody::Text(text.clone()),
                false => InboundBody::Media {
                    text: text.clone(),
                    media: super::files::media_of(&self.http, &message.attachments),
                },
            },
        };
        // A direct message is the conversation itself: answered where it was written.
        if message.guild_id.is_none() {
            return Some(Place {
                inbound: inbound(channel.to_string(), None),
                reply_in: channel,
            });
        }
        let in_thread = |followed: FollowedThread| Place {
            inbound: inbound(followed.chat, Some(channel)),
            reply_in: channel,
        };
        if let Some(followed) = self.followed(channel).await {
            return Some(in_thread(followed));
        }
        if !self.core.is_permitted(&self.name, &user).await {
            return Some(Place {
                inbound: inbound(channel.to_string(), None),
                reply_in: channel,
            });
        }
        if let Some(parent) = self.thread_parent(channel).await {
            let followed = self.follow(channel, parent).await;
            return Some(in_thread(followed));
        }
        let thread = self.start_thread(message, &text).await?;
        self.follow(thread, channel).await;
        Some(Place {
            inbound: inbound(channel.to_string(), Some(thread)),
            reply_in: thread,
        })
    }

    /// The channel a thread hangs off, when `channel` is a thread fanops does not follow
    /// yet; `None` for a server channel (remembered) or when Discord cannot say.
    async fn thread_parent(&self, channel: ChannelId) -> Option<ChannelId> {
        let plain = || self.lanes.plain.lock().unwrap_or_else(|e| e.into_inner());
        if plain().contains(&channel.get()) {
            return None;
        }
        match self.outbox.channel_info(channel).await {
            Ok((kind, Some(parent))) if THREAD_TYPES.contains(&kind) => {
                Some(ChannelId::new(parent))
            }
            Ok(_) => {
                plain().insert(channel.get());
                None
            }
            Err(e) => {
                tracing::warn!(error = %e.message(), "could not look up a Discord channel");
                None
            }
        }
    }

    /// A thread from `message`, named from the question; says so in the channel when
    /// Discord refuses (a missing permission, say).
    async fn start_thread(&self, message: &Message, text: &str) -> Option<ChannelId> {
        let channel = message.channel_id;
        let asker = message.author.global_name.as_ref();
        let name = thread_name(text, asker.unwrap_or(&message.author.name));
        match self.outbox.start_thread(channel, message.id, &name).await {
            Ok(thread) => Some(thread),
            // Started by an earlier attempt at this message: it has the message's id.
            Err(e) if e.message().contains(THREAD_EXISTS) => Some(ChannelId::new(message.id.get())),
            Err(e) => {
                tracing::warn!(error = %e.message(), "could not start a Discord thread");
                let note = format!(
                    "I could not start a thread for your question here ({}). An admin can let me create public threads in this channel.",
                    e.message()
                );
                let _ = self.outbox.send_text(channel, &note, None).await;
                None
            }
        }
    }

    /// A button press (a decision, or an answer to an access request) in the
    /// conversation the pressed message is in: a thread, a server channel, or an admin's
    /// direct messages. A foreign button is answered (to the presser alone) and goes no
    /// further.
    async fn place_press(&self, press: &ComponentInteraction) -> Option<Place> {
        if press.user.bot {
            return None;
        }
        let Some(body) = buttons::pressed(&press.data.custom_id) else {
            self.outbox
                .tell_presser(
                    press.application_id.get(),
                    &press.token,
                    "That button is not one of mine.",
                )
                .await;
            return None;
        };
        let channel = press.channel_id;
        let (chat, thread) = match self.followed(channel).await {
            Some(followed) => (followed.chat, Some(channel.to_string())),
            None => (channel.to_string(), None),
        };
        Some(Place {
            inbound: Inbound {
                platform: PLATFORM.into(),
                connection: self.name.clone(),
                chat,
                thread,
                user: press.user.id.to_string(),
                user_name: name_of(&press.user),
                private: press.guild_id.is_none(),
                body,
            },
            reply_in: channel,
        })
    }
}

/// A thread's name: the question's first line, without mentions, at most 90 characters.
fn thread_name(text: &str, asker: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let cleaned: String = line
        .split_whitespace()
        .filter(|word| !(word.starts_with("<@") || word.starts_with("<#")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut name: String = cleaned.chars().take(90).collect();
    if cleaned.chars().count() > 90 {
        name.push('…');
    }
    if name.is_empty() {
        format!("Question from {asker}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_named_by_display_name_and_username() {
        let mut user = User::default();
        user.name = "ana.k".into();
        assert_eq!(name_of(&user), "ana.k");
        user.global_name = Some("Ana".into());
        assert_eq!(name_of(&user), "Ana (@ana.k)");
    }

    #[test]
    fn threads_are_named_from_the_question() {
        assert_eq!(
            thread_name("  How much did we earn <@42> this week?\nmore", "Ana"),
            "How much did we earn this week?"
        );
        assert_eq!(thread_name("<@&7>", "Ana"), "Question from Ana");
        let long = "word ".repeat(40);
        assert_eq!(thread_name(&long, "Ana").chars().count(), 91);
    }
}
