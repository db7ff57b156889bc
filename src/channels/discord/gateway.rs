//! The gateway session: one process holds it (the shared lease), serenity keeps it
//! (identify, heartbeats, resume after a drop, a fresh session when one goes quiet), and
//! every event it hands over goes to [`super::inbound`].

use super::Discord;
use crate::channels::outbox::SendFailure;
use serenity::all::{
    ClientBuilder, ConnectionStage, Context, EventHandler, GatewayIntents, HttpBuilder,
    Interaction, Message, Ready, ResumedEvent, UserId,
};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why the bot's own id is not known.
enum Unknown {
    /// Discord will not take the token: waiting will not fix it.
    TokenRefused(String),
    Failed(anyhow::Error),
}

/// What the bot needs to see: servers, their messages and what those say (the last is
/// privileged: it must be switched on for the bot in the developer portal).
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
}

/// How often the session's state is read into `/readyz`.
const WATCH_EVERY: Duration = Duration::from_secs(5);
/// A session that has not been connected for this long is dropped and a new one started.
const RECONNECTING_FOR_TOO_LONG: Duration = Duration::from_secs(120);

/// serenity's view of the bot: each callback runs on its own task.
struct Handler(Arc<Discord>);

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.0.me.set(ready.user.id);
        tracing::info!(connection = %self.0.name, bot = %ready.user.name, guilds = ready.guilds.len(), "the Discord gateway session is ready");
        self.0.health.ok(&self.0.name, &self.0.holding("connected"));
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!(connection = %self.0.name, "the Discord gateway session resumed");
        self.0.health.ok(&self.0.name, &self.0.holding("resumed"));
    }

    async fn message(&self, _ctx: Context, message: Message) {
        self.0.clone().on_message(message).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        if let Interaction::Component(press) = interaction {
            self.0.clone().on_press(press).await;
        }
    }
}

impl Discord {
    /// "connected (holds the gateway as host/pid 1/ab12cd34)".
    fn holding(&self, state: &str) -> String {
        format!(
            "{state} (holds the gateway as {})",
            self.runtime.lease.owner()
        )
    }

    /// Holds the gateway while this process holds the lease, standing by while another
    /// does, until `shutdown`; then lets the lease go so a standby takes over at once.
    pub(super) async fn hold_gateway(
        self: Arc<Self>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let lease = self.runtime.lease.clone();
        loop {
            let standby = |holder: Result<&str, String>| match holder {
                Ok(holder) => self.health.ok(
                    &self.name,
                    &format!("standby: the gateway is held by {holder}"),
                ),
                Err(e) => self.health.failing(&self.name, &e),
            };
            if !lease.wait_to_hold(&shutdown, standby).await {
                return Ok(());
            }
            tracing::info!(
                connection = %self.name,
                owner = lease.owner(),
                "this process holds the Discord gateway"
            );
            let (done, lost) = (CancellationToken::new(), shutdown.child_token());
            let keeper = tokio::spawn(lease.clone().keep(done.clone(), lost.clone()));
            self.clone().sessions(&lost).await;
            done.cancel();
            let _ = keeper.await;
            if shutdown.is_cancelled() {
                lease.release().await;
                return Ok(());
            }
            tracing::warn!(connection = %self.name, "lost the Discord gateway lease; standing by");
        }
    }

    /// Runs gateway sessions until `stop`: a session that ends (a refused token, intents
    /// not switched on, a dead connection) is started again after a growing pause.
    async fn sessions(self: Arc<Self>, stop: &CancellationToken) {
        let mut delay = Duration::from_secs(1);
        loop {
            let outcome = match self.know_myself().await {
                Ok(()) => self.clone().session(stop).await,
                Err(Unknown::TokenRefused(why)) => {
                    let var = &self.token_var;
                    let sentence = format!(
                        "Discord refused the bot token in `{var}` ({why}): put the token \
                         from the Developer Portal (Bot → Reset Token) in `{var}` and \
                         restart fanops"
                    );
                    super::super::refused_credentials(&self.health, &self.name, &sentence, stop)
                        .await;
                    return;
                }
                Err(Unknown::Failed(e)) => Err(e),
            };
            if stop.is_cancelled() {
                return;
            }
            let why = match outcome {
                Ok(()) => "the gateway session ended".to_string(),
                Err(e) => format!("the gateway session failed: {e}"),
            };
            self.health.failing(&self.name, &why);
            tracing::warn!(connection = %self.name, error = %why, ?delay, "reconnecting to the Discord gateway");
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(60));
        }
    }

    /// Learns the bot's user id before any event arrives: serenity hands READY and the
    /// first messages to concurrent tasks, so READY cannot be relied on to come first.
    async fn know_myself(&self) -> Result<(), Unknown> {
        if self.me.get().is_none() {
            let id = self.outbox.bot_user().await.map_err(|e| {
                // The REST client words a refusal as "<status> <message> (code …)", and
                // the outbox puts "Discord refused it: " before it.
                match e {
                    SendFailure::Refused(m) if m.contains("refused it: 401 ") => {
                        Unknown::TokenRefused(m)
                    }
                    e => Unknown::Failed(anyhow::anyhow!("GET /users/@me failed: {}", e.message())),
                }
            })?;
            let _ = self.me.set(UserId::new(id));
        }
        Ok(())
    }

    /// One serenity client, from identify until it stops, `stop` fires, or it stays
    /// disconnected past [`RECONNECTING_FOR_TOO_LONG`].
    async fn session(self: Arc<Self>, stop: &CancellationToken) -> anyhow::Result<()> {
        // The gateway URL is asked of the configured API (`GET /api/v10/gateway`);
        // serenity's HTTP client is used for that only (see `rest`).
        let http = HttpBuilder::new(&self.token)
            .proxy(self.config.api_url.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build();
        let mut client = ClientBuilder::new_with_http(http, intents())
            .event_handler(Handler(self.clone()))
            .await?;
        let manager = client.shard_manager.clone();
        let watch = async {
            let mut away_since = tokio::time::Instant::now();
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let stages: Vec<ConnectionStage> = manager
                    .runners
                    .lock()
                    .await
                    .values()
                    .map(|runner| runner.stage)
                    .collect();
                if stages.contains(&ConnectionStage::Connected) {
                    away_since = tokio::time::Instant::now();
                    self.health.ok(&self.name, &self.holding("connected"));
                } else if away_since.elapsed() >= RECONNECTING_FOR_TOO_LONG {
                    return;
                } else {
                    let stage = stages
                        .first()
                        .map_or("starting".to_string(), |s| s.to_string());
                    self.health
                        .failing(&self.name, &format!("gateway: {stage}"));
                }
            }
        };
        let outcome = tokio::select! {
            started = client.start() => started.map_err(anyhow::Error::from),
            _ = stop.cancelled() => Ok(()),
            _ = watch => Err(anyhow::anyhow!("not connected for {RECONNECTING_FOR_TOO_LONG:?}")),
        };
        manager.shutdown_all().await;
        outcome
    }
}
