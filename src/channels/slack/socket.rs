//! Socket Mode: one process per app holds the WebSocket (the others stand by and take
//! over when it dies or stops). `apps.connections.open` gives a URL; Slack sends
//! envelopes over it, each acknowledged (`{"envelope_id"}`) before its turn starts, since
//! Slack redelivers an envelope not acknowledged within 3 s. The socket is replaced when
//! Slack asks (`disconnect`, e.g. a refresh), when it drops, and when it goes quiet: no
//! frame for [`QUIET`] brings a ping, and no answer to it a new socket.
//!
//! slack-morphism has a Socket Mode listener, but it acknowledges an envelope only after
//! its handler returns and reports no liveness; this loop uses its Web API client and
//! event types, and tokio-tungstenite for the socket.

use super::Slack;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_util::sync::CancellationToken;

/// The pause before replacing a socket that worked, so one that keeps dropping at once
/// cannot make a busy loop.
const REPLACE_AFTER: Duration = Duration::from_millis(250);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why no socket was opened.
enum Unopened {
    /// The token is missing or refused: waiting will not fix it.
    Refused(String),
    /// Worth trying again after a pause.
    Failed(String),
}

/// Why a socket was let go.
enum Ended {
    /// Shutting down, or the lease went to another process.
    Stopped,
    /// Slack asked for a new one, or the socket dropped or went quiet after working.
    Replace(String),
    /// It never worked (no `hello`).
    Failed(String),
}

impl Slack {
    /// How long a silent socket is trusted before a ping, and after it.
    pub(super) fn quiet(&self) -> Duration {
        crate::config::parse_duration(&self.config.socket_watchdog)
            .unwrap_or(Duration::from_secs(30))
    }

    /// Holds the socket while this process holds the lease, standing by while another
    /// does, until `shutdown`; then lets the lease go so a standby takes over at once.
    pub(super) async fn socket(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let lease = self.runtime.lease.clone();
        loop {
            let standby = |holder: Result<&str, String>| match holder {
                Ok(holder) => self.health.ok(
                    &self.name,
                    &format!("standby: Socket Mode is held by {holder}"),
                ),
                Err(e) => self.health.failing(&self.name, &e),
            };
            if !lease.wait_to_hold(&shutdown, standby).await {
                return Ok(());
            }
            tracing::info!(owner = lease.owner(), connection = %self.name, "this process holds the Slack socket");
            let (done, lost) = (CancellationToken::new(), shutdown.child_token());
            let keeper = tokio::spawn(lease.clone().keep(done.clone(), lost.clone()));
            self.sockets_while_holding(&lost).await;
            done.cancel();
            let _ = keeper.await;
            if shutdown.is_cancelled() {
                lease.release().await;
                return Ok(());
            }
            tracing::warn!(connection = %self.name, "lost the Slack socket lease; standing by");
        }
    }

    /// Opens socket after socket until `stop`: soon after one that worked, with backoff
    /// (1 s doubling to 30 s) after one that did not.
    async fn sockets_while_holding(self: &Arc<Self>, stop: &CancellationToken) {
        let mut delay = Duration::from_secs(1);
        loop {
            let pause = match self.open().await {
                Ok(socket) => match self.listen(socket, stop).await {
                    Ended::Stopped => return,
                    Ended::Replace(why) => {
                        tracing::info!(%why, "replacing the Slack socket");
                        delay = Duration::from_secs(1);
                        REPLACE_AFTER
                    }
                    Ended::Failed(why) => {
                        self.health.failing(&self.name, &why);
                        delay
                    }
                },
                Err(Unopened::Refused(sentence)) => {
                    super::super::refused_credentials(&self.health, &self.name, &sentence, stop)
                        .await;
                    return;
                }
                Err(Unopened::Failed(why)) => {
                    self.health.failing(&self.name, &why);
                    tracing::warn!(%why, ?delay, "could not open a Slack socket; backing off");
                    delay
                }
            };
            if pause > REPLACE_AFTER {
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// `apps.connections.open`, then the WebSocket it names.
    async fn open(&self) -> Result<Socket, Unopened> {
        let var = &self.app_var;
        let token = self.app_token.as_ref().ok_or_else(|| {
            Unopened::Refused(format!(
                "{var} is not set: Socket Mode needs the app-level token (xapp-…) \
                 with the connections:write scope; set it and restart fanops"
            ))
        })?;
        let opened = self
            .client
            .open_session(token)
            .apps_connections_open(&SlackApiAppsConnectionOpenRequest::new())
            .await
            .map_err(|e| match super::refuses_token(&e) {
                true => Unopened::Refused(format!(
                    "Slack refused the app-level token in `{var}` ({e}): put a token \
                     (xapp-…) with the connections:write scope in `{var}` and restart fanops"
                )),
                false => Unopened::Failed(format!("apps.connections.open failed: {e}")),
            })?;
        let (socket, _) = tokio_tungstenite::connect_async(opened.url.0.as_str())
            .await
            .map_err(|e| Unopened::Failed(format!("the Slack socket did not open: {e}")))?;
        Ok(socket)
    }

    /// Reads envelopes until the socket ends or `stop`.
    async fn listen(self: &Arc<Self>, mut socket: Socket, stop: &CancellationToken) -> Ended {
        let holding = format!("socket mode (holds it as {})", self.runtime.lease.owner());
        let mut greeted = false;
        let mut pinged = false;
        let ended = |greeted: bool, why: String| match greeted {
            true => Ended::Replace(why),
            false => Ended::Failed(why),
        };
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => {
                    let _ = socket.close(None).await;
                    return Ended::Stopped;
                }
                next = tokio::time::timeout(self.quiet(), socket.next()) => next,
            };
            let frame = match next {
                Err(_) if pinged => return ended(greeted, "the socket went quiet".into()),
                Err(_) => {
                    pinged = true;
                    if socket.send(Frame::Ping(Vec::new().into())).await.is_err() {
                        return ended(greeted, "the socket could not be pinged".into());
                    }
                    continue;
                }
                Ok(None) => return ended(greeted, "Slack closed the socket".into()),
                Ok(Some(Err(e))) => return ended(greeted, format!("the socket failed: {e}")),
                Ok(Some(Ok(frame))) => frame,
            };
            pinged = false;
            if greeted {
                self.health.ok(&self.name, &holding);
            }
            let text = match frame {
                Frame::Text(text) => text,
                Frame::Close(_) => return ended(greeted, "Slack closed the socket".into()),
                _ => continue,
            };
            let Ok(envelope) = serde_json::from_str::<Value>(&text) else {
                tracing::warn!("a Slack socket frame is not JSON; skipping it");
                continue;
            };
            match envelope["type"].as_str().unwrap_or_default() {
                "hello" => {
                    greeted = true;
                    self.health.ok(&self.name, &holding);
                }
                "disconnect" => {
                    let reason = envelope["reason"].as_str().unwrap_or("unknown");
                    return Ended::Replace(format!("Slack asked for a new socket ({reason})"));
                }
                _ => {
                    if let Err(e) = self.envelope(&mut socket, &envelope).await {
                        return ended(greeted, format!("could not acknowledge an envelope: {e}"));
                    }
                }
            }
        }
    }

    /// An envelope: claimed if it is for fanops, acknowledged, then its turn started.
    async fn envelope(
        self: &Arc<Self>,
        socket: &mut Socket,
        envelope: &Value,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        let payload = envelope["payload"].clone();
        let request = match envelope["type"].as_str() {
            Some("events_api") if super::inbound::from_bot(&payload) => None,
            Some("events_api") => match serde_json::from_value::<SlackPushEvent>(payload) {
                Ok(SlackPushEvent::EventCallback(callback)) => {
                    self.request_of(&callback.event).await
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "a Slack event did not parse; skipping it");
                    None
                }
            },
            Some("interactive") => match serde_json::from_value::<SlackInteractionEvent>(payload) {
                Ok(event) => Slack::press_of(&event),
                Err(e) => {
                    tracing::warn!(error = %e, "a Slack interaction did not parse; skipping it");
                    None
                }
            },
            _ => None,
        };
        // Claimed before the acknowledgement, so a crash in between loses nothing: Slack
        // redelivers, or the claim's lease runs out and another process takes it over.
        let claimed = match request {
            Some((id, request)) if self.claim(&id, &request).await => Some((id, request)),
            _ => None,
        };
        if let Some(id) = envelope["envelope_id"].as_str() {
            let ack = serde_json::json!({ "envelope_id": id }).to_string();
            socket.send(Frame::Text(ack.into())).await?;
        }
        if let Some((id, request)) = claimed {
            self.start_turn(id, request, None);
        }
        Ok(())
    }
}
