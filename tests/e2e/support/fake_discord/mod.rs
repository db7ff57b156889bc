//! A fake Discord: the REST routes fanops uses and a gateway WebSocket server.
//!
//! REST (`{url}/api/v10/…`): `GET /gateway` and `/gateway/bot` (the gateway's `ws://`
//! URL), `GET /channels/{id}`, `POST /channels/{id}/messages` (JSON or multipart with a
//! file), `PATCH /channels/{id}/messages/{id}`, `POST /channels/{id}/messages/{id}/threads`
//! (the thread gets the message's id; a second one is refused with code 160004),
//! `POST /channels/{id}/typing`, `POST /interactions/{id}/{token}/callback`,
//! `POST /webhooks/{app}/{token}` (follow-ups) and `POST /users/@me/channels` (a person's
//! direct-message channel, type 1: the same one each time). Every call is recorded. A
//! route can be made to answer 429 (per route or global, with `Retry-After` and Discord's
//! JSON) or an error status ([`rest`]).
//!
//! Gateway: Hello (op 10) → Identify (op 2) → READY, then the dispatches a test pushes
//! (MESSAGE_CREATE, INTERACTION_CREATE) with growing sequence numbers; heartbeats (op 1)
//! are acknowledged (op 11) unless the fake is told to go quiet. A test can drop the
//! connection abruptly; dispatches pushed meanwhile wait, and a Resume (op 6) gets every
//! dispatch after the client's sequence number — or, with `replay_all_on_resume`, every
//! dispatch of the session again, as a client that lost its place would — then RESUMED.

use axum::Router;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};

mod cdn;
mod gateway;
mod rest;
pub use cdn::Attached;
use gateway::{accept_gateway, send_dispatch, Command, Gateway};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bot's user id (and application id) in the fake.
pub const BOT_ID: u64 = 900_000_000_000_000_001;
/// The one server the bot is in.
/// The bot's application id (`GET /applications/@me`).
pub const APP_ID: u64 = 900_000_000_000_000_002;
/// `GATEWAY_MESSAGE_CONTENT_LIMITED`: the Message Content intent switched on in the
/// Developer Portal, for a bot in fewer than 100 servers.
pub const MESSAGE_CONTENT_LIMITED: u64 = 1 << 19;
pub const GUILD_ID: u64 = 800_000_000_000_000_001;
/// A plain text channel of that server.
pub const GENERAL: u64 = 700_000_000_000_000_001;

/// One REST call as it crossed the wire.
#[derive(Debug, Clone)]
pub struct DcCall {
    pub method: String,
    /// Without `/api/v10`, e.g. `/channels/7/messages`.
    pub path: String,
    /// The JSON body, or a multipart's `payload_json`.
    pub body: Value,
    /// Multipart file parts: (file name, size in bytes).
    pub files: Vec<(String, usize)>,
    pub authorization: String,
    /// When the request reached the fake.
    pub at: Instant,
}

/// How a route answers instead of succeeding.
#[derive(Debug, Clone)]
pub enum DcFailure {
    /// 429 with `Retry-After` and `retry_after` of this many seconds.
    RateLimited {
        seconds: f64,
        global: bool,
    },
    Status(u16),
}

/// A message as it stands (edits applied).
#[derive(Debug, Clone)]
pub struct DcMessage {
    pub id: u64,
    pub channel: u64,
    pub content: String,
    pub components: Value,
    pub files: Vec<(String, usize)>,
}

pub(super) struct DcState {
    calls: Mutex<Vec<DcCall>>,
    messages: Mutex<Vec<DcMessage>>,
    /// Channel id → (type, parent).
    channels: Mutex<HashMap<u64, (u64, Option<u64>)>>,
    threads_started: Mutex<HashSet<u64>>,
    /// Person → their direct-message channel with the bot.
    direct: Mutex<HashMap<u64, u64>>,
    failures: Mutex<HashMap<String, VecDeque<DcFailure>>>,
    next_id: AtomicU64,
    gateway: Mutex<Gateway>,
    ws_url: Mutex<String>,
    quiet: AtomicBool,
    replay_all: AtomicBool,
    /// Attachment id → bytes, and how many downloads the CDN had.
    cdn: Mutex<HashMap<u64, Vec<u8>>>,
    cdn_downloads: Mutex<usize>,
    /// The application's `flags` (`GET /applications/@me`).
    app_flags: AtomicU64,
}

/// The fake Discord. Cloning shares the same servers and state.
#[derive(Clone)]
pub struct FakeDiscord {
    base: String,
    state: Arc<DcState>,
}

impl FakeDiscord {
    /// Binds the REST API and the gateway on `127.0.0.1:0`.
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(DcState {
            calls: Mutex::default(),
            messages: Mutex::default(),
            channels: Mutex::new(HashMap::from([(GENERAL, (0, None))])),
            threads_started: Mutex::default(),
            direct: Mutex::default(),
            failures: Mutex::default(),
            next_id: AtomicU64::new(1_000_000_000_000_000_000),
            gateway: Mutex::default(),
            ws_url: Mutex::default(),
            quiet: AtomicBool::new(false),
            replay_all: AtomicBool::new(false),
            cdn: Mutex::default(),
            cdn_downloads: Mutex::default(),
            app_flags: AtomicU64::new(MESSAGE_CONTENT_LIMITED),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *state.ws_url.lock().unwrap() = format!("ws://{}", listener.local_addr().unwrap());
        tokio::spawn(accept_gateway(listener, state.clone()));
        let router = Router::new()
            .fallback(rest::handle)
            .with_state(state.clone());
        let addr = super::serve(router).await;
        FakeDiscord {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// The application's flags from now on: e.g. 0 for an app whose Message Content
    /// intent is off (the default is [`MESSAGE_CONTENT_LIMITED`], switched on in the portal).
    pub fn set_app_flags(&self, flags: u64) {
        self.state.app_flags.store(flags, Ordering::SeqCst);
    }

    /// `api_url` for `[channels.discord]`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// A fresh id, larger than every earlier one (as Discord's snowflakes are).
    pub fn next_id(&self) -> u64 {
        self.state.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Makes `channel` a thread of `parent` (one fanops did not start).
    pub fn add_thread(&self, channel: u64, parent: u64) {
        self.state
            .channels
            .lock()
            .unwrap()
            .insert(channel, (11, Some(parent)));
    }

    /// Pushes a MESSAGE_CREATE from `author` in `channel`; returns its id. `mentions`
    /// are the user ids the message mentions (the bot is [`BOT_ID`]).
    pub fn push_message(&self, channel: u64, author: u64, content: &str, mentions: &[u64]) -> u64 {
        self.push_message_from(channel, author, false, content, mentions)
    }

    pub fn push_message_from(
        &self,
        channel: u64,
        author: u64,
        bot: bool,
        content: &str,
        mentions: &[u64],
    ) -> u64 {
        let id = self.next_id();
        self.dispatch(
            "MESSAGE_CREATE",
            message(id, channel, author, bot, content, mentions),
        );
        id
    }

    /// A message from `author` in their direct messages with the bot (no server, no
    /// mention), as the gateway sends it with the DIRECT_MESSAGES intent; returns the
    /// direct channel's id.
    pub fn push_direct(&self, author: u64, content: &str) -> u64 {
        let channel = *self
            .state
            .direct
            .lock()
            .unwrap()
            .entry(author)
            .or_insert_with(|| self.state.next_id.fetch_add(1, Ordering::SeqCst));
        self.state
            .channels
            .lock()
            .unwrap()
            .insert(channel, (1, None));
        let id = self.next_id();
        let mut data = message(id, channel, author, false, content, &[]);
        data.as_object_mut().unwrap().remove("guild_id");
        self.dispatch("MESSAGE_CREATE", data);
        channel
    }

    /// A mention of the bot in `channel` by `author`: `<@bot> text`.
    pub fn mention(&self, channel: u64, author: u64, text: &str) -> u64 {
        self.push_message(channel, author, &format!("<@{BOT_ID}> {text}"), &[BOT_ID])
    }

    /// A MESSAGE_CREATE's data, as the gateway would send it (not sent).
    pub fn message_json(
        &self,
        id: u64,
        channel: u64,
        author: u64,
        content: &str,
        mentions: &[u64],
    ) -> Value {
        message(id, channel, author, false, content, mentions)
    }

    /// Pushes an INTERACTION_CREATE: `user` pressed the button `custom_id` of the bot's
    /// message `prompt` in `channel`; returns the interaction id.
    pub fn press(&self, channel: u64, prompt: u64, user: u64, custom_id: &str) -> u64 {
        self.press_where(channel, prompt, user, custom_id, true)
    }

    /// Pushes an INTERACTION_CREATE from a direct-message channel (no server: `user`
    /// instead of `member`, no `guild_id`, context 1).
    pub fn press_in_dm(&self, channel: u64, prompt: u64, user: u64, custom_id: &str) -> u64 {
        self.press_where(channel, prompt, user, custom_id, false)
    }

    fn press_where(
        &self,
        channel: u64,
        prompt: u64,
        user: u64,
        custom_id: &str,
        in_server: bool,
    ) -> u64 {
        let id = self.next_id();
        let (content, components) = self
            .messages_in(channel)
            .into_iter()
            .find(|m| m.id == prompt)
            .map_or(("Should I go ahead?".to_string(), json!([])), |m| {
                (m.content, m.components)
            });
        let mut prompt = message(prompt, channel, BOT_ID, true, &content, &[]);
        prompt["components"] = components;
        let mut press = json!({
            "id": id.to_string(),
            "application_id": BOT_ID.to_string(),
            "type": 3,
            "data": { "custom_id": custom_id, "component_type": 2 },
            "channel_id": channel.to_string(),
            "token": format!("token-{id}"),
            "version": 1,
            "message": prompt,
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": if in_server { 0 } else { 1 },
            "attachment_size_limit": 10_485_760,
        });
        if in_server {
            press["guild_id"] = json!(GUILD_ID.to_string());
            press["guild_locale"] = json!("en-US");
            press["member"] = json!({
                "user": user_json(user, false),
                "roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00",
                "deaf": false, "mute": false, "flags": 0,
            });
        } else {
            press["user"] = user_json(user, false);
            press["message"].as_object_mut().unwrap().remove("guild_id");
        }
        self.dispatch("INTERACTION_CREATE", press);
        id
    }

    /// The direct-message channel the bot opened with `user`, if it did.
    pub fn direct_channel(&self, user: u64) -> Option<u64> {
        self.state.direct.lock().unwrap().get(&user).copied()
    }

    /// Sends a dispatch on the live session, or keeps it for the next one.
    pub fn dispatch(&self, kind: &str, data: Value) {
        let mut gateway = self.state.gateway.lock().unwrap();
        if gateway.socket.is_some() && gateway.live {
            send_dispatch(&mut gateway, kind, data);
        } else {
            gateway.waiting.push_back((kind.to_string(), data));
        }
    }

    /// Closes the gateway connection without a close frame.
    pub fn drop_connection(&self) {
        let mut gateway = self.state.gateway.lock().unwrap();
        gateway.live = false;
        if let Some(socket) = gateway.socket.take() {
            let _ = socket.send(Command::Drop);
        }
    }

    /// Stops acknowledging heartbeats (a session gone quiet).
    pub fn go_quiet(&self, quiet: bool) {
        self.state.quiet.store(quiet, Ordering::SeqCst);
    }

    /// On Resume, sends every dispatch of the session again (not only the missed ones).
    pub fn replay_all_on_resume(&self, yes: bool) {
        self.state.replay_all.store(yes, Ordering::SeqCst);
    }

    /// Identify payloads received (op 2), in order.
    pub fn identifies(&self) -> Vec<Value> {
        self.state.gateway.lock().unwrap().identifies.clone()
    }

    /// Resume payloads received (op 6), in order.
    pub fn resumes(&self) -> Vec<Value> {
        self.state.gateway.lock().unwrap().resumes.clone()
    }

    pub fn heartbeats(&self) -> usize {
        self.state.gateway.lock().unwrap().heartbeats
    }

    /// Whether a session is connected and identified (or resumed).
    pub fn connected(&self) -> bool {
        let gateway = self.state.gateway.lock().unwrap();
        gateway.socket.is_some() && gateway.live
    }

    /// The next `failures` answers of `route` (`"POST /channels/{id}/messages"` with the
    /// real ids, or the route without ids: `"POST messages"`, `"PATCH messages"`,
    /// `"POST threads"`, `"POST callback"`).
    pub fn fail_next(&self, route: &str, failures: Vec<DcFailure>) {
        let mut all = self.state.failures.lock().unwrap();
        all.entry(route.to_string()).or_default().extend(failures);
    }

    pub fn calls(&self) -> Vec<DcCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Calls whose `"METHOD path"` ends with `suffix`.
    pub fn calls_to(&self, method: &str, suffix: &str) -> Vec<DcCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.ends_with(suffix))
            .collect()
    }

    /// The bot's messages in `channel`, oldest first, edits applied.
    pub fn messages_in(&self, channel: u64) -> Vec<DcMessage> {
        let messages = self.state.messages.lock().unwrap();
        messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// Their texts.
    pub fn texts_in(&self, channel: u64) -> Vec<String> {
        self.messages_in(channel)
            .into_iter()
            .map(|m| m.content)
            .collect()
    }

    /// Polls `pred` every 10 ms until it holds (`true`) or `timeout` passes (`false`).
    pub async fn wait_for(&self, pred: impl Fn(&FakeDiscord) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until a bot message in `channel` contains `needle`.
    pub async fn wait_text(&self, channel: u64, needle: &str, timeout: Duration) -> bool {
        self.wait_for(
            |dc| dc.texts_in(channel).iter().any(|t| t.contains(needle)),
            timeout,
        )
        .await
    }
}

pub(super) fn user_json(id: u64, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": format!("member{id}"),
        "global_name": format!("Member {}", id % 1000),
        "discriminator": "0",
        "avatar": null,
        "bot": bot,
    })
}

fn message(
    id: u64,
    channel: u64,
    author: u64,
    bot: bool,
    content: &str,
    mentions: &[u64],
) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": user_json(author, bot),
        "content": content,
        "timestamp": "2025-06-07T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": mentions.iter().map(|m| user_json(*m, *m == BOT_ID)).collect::<Vec<_>>(),
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    })
}
