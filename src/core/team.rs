//! The team, managed from chat (DESIGN §12.2): who a person is on a connection (the
//! config file's seed, then the grants in the store), strangers' access requests sent to
//! the admins with a button for each role, and an admin's press deciding one.

use super::{Core, Inbound, Outbound, Role};
use crate::chat::{AccessChoice, DecisionNote, InboundBody, Recipient};
use crate::store::team as grants;
use crate::store::{AccessRequest, RequestState, StoreResult, TeamMember};
use chrono::{DateTime, Duration, Utc};

/// At most one request per person per connection in this long.
const REQUEST_EVERY: Duration = Duration::hours(24);
/// An ignored person asks again no sooner than this.
const IGNORED_FOR: Duration = Duration::days(30);
/// Requests sent to the admins of one connection in one clock hour at most; later ones
/// wait in `/team` (a flood of strangers cannot flood the admins).
pub(super) const NOTICES_PER_HOUR: usize = 20;

impl Core {
    /// The person's role on `connection`: the config file's by name, else a grant in the
    /// store, else the role everyone has on a connection open to all; None: a stranger.
    pub async fn role_of(&self, connection: &str, user: &str) -> StoreResult<Option<Role>> {
        if let Some(role) = self.access.named(connection, user) {
            return Ok(Some(role));
        }
        if !self.access.knows(connection) {
            return Ok(None);
        }
        let granted = self.store.team_member(connection, user).await?;
        Ok(granted
            .and_then(|m| Role::parse(&m.role))
            .or_else(|| self.access.open_role(connection)))
    }

    /// Whether the person may use `connection` (adapters ask it to skip work early); a
    /// store that cannot say counts as no.
    pub async fn is_permitted(&self, connection: &str, user: &str) -> bool {
        self.role_of(connection, user)
            .await
            .is_ok_and(|role| role.is_some())
    }

    /// The admins of `connection`: the file's and those granted in the store.
    async fn admins(&self, connection: &str) -> StoreResult<Vec<String>> {
        let mut admins: Vec<String> = self
            .access
            .seed(connection)
            .into_iter()
            .filter(|(_, role)| *role == Role::Admin)
            .map(|(user, _)| user)
            .collect();
        for member in self.store.team_members(Some(connection)).await? {
            if member.role == Role::Admin.as_str() && !admins.contains(&member.user_id) {
                admins.push(member.user_id);
            }
        }
        Ok(admins)
    }

    /// A stranger wrote: unless they asked today, were ignored lately, or too many asked
    /// this hour, their request goes to each admin of the connection with a button for
    /// each role and one to ignore them. True when the person has a request waiting for
    /// someone who can decide it (what they may be told).
    pub(super) async fn request_access(&self, inbound: &Inbound) -> anyhow::Result<bool> {
        // A message asks (its media untouched); a press of a button does not.
        let asks = matches!(
            inbound.body,
            InboundBody::Text(_) | InboundBody::Media { .. }
        );
        if !asks || !self.access.knows(&inbound.connection) {
            return Ok(false);
        }
        let now = self.agent.clock().now();
        let (connection, user) = (inbound.connection.as_str(), inbound.user.as_str());
        if let Some(last) = self.store.last_access_request(connection, user).await? {
            let ignored = last.state == RequestState::Ignored
                && last.decided_at.is_some_and(|at| at > now - IGNORED_FOR);
            if ignored || last.requested_at > now - REQUEST_EVERY {
                let waiting = !ignored && last.state == RequestState::Pending;
                return Ok(waiting && self.anyone_decides(connection).await?);
            }
        }
        // Two replicas handling two messages of one stranger make one request between them.
        let day = now.format("%Y-%m-%d");
        if !self
            .store
            .claim("access-request", &format!("{connection}:{user}:{day}"))
            .await?
        {
            // Another message of theirs is making the request.
            return Ok(self.anyone_decides(connection).await?);
        }
        let request = AccessRequest {
            id: uuid::Uuid::new_v4().simple().to_string(),
            connection: connection.to_string(),
            user_id: user.to_string(),
            user_name: inbound.user_name.clone(),
            chat: inbound.chat.clone(),
            requested_at: now,
            state: RequestState::Pending,
            role: None,
            decided_by: None,
            decided_at: None,
        };
        self.store.open_access_request(&request).await?;
        let notice = match self.notice_slot(connection, now).await? {
            Some(n) if n < NOTICES_PER_HOUR => self.notice(&request, inbound.private),
            Some(_) => Outbound::text(format!(
                "{NOTICES_PER_HOUR} people asked to use {connection} this hour, so I have stopped sending each request until the next hour. /team lists everyone waiting; /role <id> viewer lets one in."
            )),
            // The hour's notices are spent: the request waits in /team.
            None => return Ok(self.anyone_decides(connection).await?),
        };
        self.send_to_admins(connection, &notice).await?;
        Ok(self.anyone_decides(connection).await?)
    }

    /// Whether anyone can decide `connection`'s requests: `[team] requests_to`, or an
    /// admin of it.
    async fn anyone_decides(&self, connection: &str) -> StoreResult<bool> {
        Ok(self.team.requests_to.is_some() || !self.admins(connection).await?.is_empty())
    }

    /// Which of this hour's notices to the admins of `connection` this one is (claimed in
    /// the store, so replicas racing on a flood share the same few); the one after the
    /// last request says the rest wait in `/team`; None once that was sent.
    async fn notice_slot(
        &self,
        connection: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<usize>> {
        let hour = now.format("%Y-%m-%dT%H");
        for slot in 0..=NOTICES_PER_HOUR {
            let key = format!("{connection}:{hour}:{slot}");
            if self.store.claim("access-notice", &key).await? {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// The message that asks the admins about `request`.
    fn notice(&self, request: &AccessRequest, private: bool) -> Outbound {
        let title = self.platform_title(&request.connection);
        let place = if private {
            "in a private chat with the bot".to_string()
        } else {
            format!("in chat `{}`", plain(&request.chat))
        };
        Outbound {
            text: format!(
                "**Access request** on {title} (`{}`)\n\n`{}` (id `{}`) wrote to the bot {place} and is not on the team.\n\nLet them in with the role they need, or ignore them (no new request from them for 30 days).",
                request.connection,
                plain(&request.user_name),
                plain(&request.user_id),
            ),
            access: Some(request.id.clone()),
            ..Outbound::default()
        }
    }

    /// Posts `notice` to `[team] requests_to`, else to each admin's private chat.
    async fn send_to_admins(&self, connection: &str, notice: &Outbound) -> anyhow::Result<()> {
        if let Some(to) = &self.team.requests_to {
            let Some(delivery) = self.team.deliveries.get(&to.channel) else {
                tracing::warn!(channel = %to.channel, "[team] requests_to names a connection this process does not run; the access request waits in /team");
                return Ok(());
            };
            if let Err(e) = delivery.notify(Recipient::Chat(&to.to), notice).await {
                tracing::warn!(channel = %to.channel, to = %to.to, reason = %e.message, "could not post an access request");
            }
            return Ok(());
        }
        let admins = self.admins(connection).await?;
        let Some(delivery) = self.team.deliveries.get(connection) else {
            return Ok(());
        };
        if admins.is_empty() {
            tracing::warn!(connection, "a stranger asked for access but the connection has no admin to ask: give someone `roles = {{ \"<id>\" = \"admin\" }}` or set [team] requests_to");
        }
        for admin in admins {
            if let Err(e) = delivery.notify(Recipient::Person(&admin), notice).await {
                tracing::warn!(connection, admin = %admin, reason = %e.message, "could not send an access request to an admin (they may need to open a private chat with the bot first)");
            }
        }
        Ok(())
    }

    /// An admin pressed one of a request's buttons.
    pub(super) async fn decide_access(
        &self,
        inbound: &Inbound,
        role: Role,
        request_id: &str,
        choice: AccessChoice,
    ) -> anyhow::Result<Outbound> {
        let Some(request) = self.store.access_request(request_id).await? else {
            return Ok(Outbound::text(
                "I have no record of that access request. Nothing was changed.",
            ));
        };
        if !self.may_decide(inbound, role, &request).await? {
            return Ok(Outbound::text(format!(
                "Only an admin of {} can let people in; your role is {}. Nothing was changed.",
                request.connection,
                role.as_str()
            )));
        }
        let now = self.agent.clock().now();
        let by = inbound.user_name.as_str();
        let (state, granted) = match choice {
            AccessChoice::Allow(role) => (RequestState::Allowed, Some(role.as_str())),
            AccessChoice::Ignore => (RequestState::Ignored, None),
        };
        if !self
            .store
            .decide_access_request(&request.id, state, granted, by, now)
            .await?
        {
            let decided = self
                .store
                .access_request(&request.id)
                .await?
                .unwrap_or(request);
            return Ok(Outbound::text(already_decided(&decided)));
        }
        let Some(granted) = granted else {
            grants::ignored(self.store.as_ref(), &request, by, now).await?;
            return Ok(decided_reply(
                &request,
                by,
                "🚫 Ignored".into(),
                format!(
                    "Ignored: no new request from {} for 30 days.",
                    plain(&request.user_name)
                ),
            ));
        };
        let member = TeamMember {
            connection: request.connection.clone(),
            user_id: request.user_id.clone(),
            role: granted.to_string(),
            user_name: request.user_name.clone(),
            granted_by: by.to_string(),
            granted_at: now,
        };
        grants::grant(self.store.as_ref(), &member, by).await?;
        self.tell_person(&request, granted).await;
        Ok(decided_reply(
            &request,
            by,
            format!("✅ Allowed as {granted}"),
            format!(
                "`{}` can now use {} as {granted}; I've told them.",
                plain(&request.user_name),
                request.connection
            ),
        ))
    }

    /// An admin of the request's connection, or an admin where `[team] requests_to` posts.
    async fn may_decide(
        &self,
        inbound: &Inbound,
        role: Role,
        request: &AccessRequest,
    ) -> StoreResult<bool> {
        let in_requests_chat = self
            .team
            .requests_to
            .as_ref()
            .is_some_and(|to| to.channel == inbound.connection && to.to == inbound.chat);
        if in_requests_chat && role == Role::Admin {
            return Ok(true);
        }
        if request.connection == inbound.connection {
            return Ok(role == Role::Admin);
        }
        Ok(self.role_of(&request.connection, &inbound.user).await? == Some(Role::Admin))
    }

    /// Tells the person, where they wrote, that they are in.
    async fn tell_person(&self, request: &AccessRequest, role: &str) {
        let Some(delivery) = self.team.deliveries.get(&request.connection) else {
            return;
        };
        let text = format!(
            "You're in: an admin let you use this bot as {role}. Ask me anything about your creators, or send /help to see what I can do."
        );
        let to = Recipient::Chat(&request.chat);
        if let Err(e) = delivery.notify(to, &Outbound::text(text)).await {
            tracing::warn!(connection = %request.connection, user = %request.user_id, reason = %e.message, "could not tell a person they were let in");
        }
    }

    /// How people name the platform of `connection`.
    fn platform_title(&self, connection: &str) -> String {
        let platform = connection.split(':').next().unwrap_or(connection);
        self.team
            .titles
            .get(platform)
            .cloned()
            .unwrap_or_else(|| platform.to_string())
    }
}

/// The reply to a press that decided `request`: the notice is marked with `verdict`.
fn decided_reply(request: &AccessRequest, by: &str, verdict: String, text: String) -> Outbound {
    Outbound {
        text,
        decided: Some(DecisionNote {
            action_id: request.id.clone(),
            summary: format!(
                "Access request from {} (id {}) on {}",
                plain(&request.user_name),
                plain(&request.user_id),
                request.connection
            ),
            confirmed: verdict.starts_with('✅'),
            by: by.to_string(),
            verdict,
        }),
        ..Outbound::default()
    }
}

/// "Already decided: Ana allowed them as viewer on 2026-12-07 10:02 UTC."
fn already_decided(request: &AccessRequest) -> String {
    let by = request.decided_by.as_deref().unwrap_or("someone");
    let when = request
        .decided_at
        .map(|at: DateTime<Utc>| format!(" on {}", at.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    let what = match (&request.state, &request.role) {
        (RequestState::Allowed, Some(role)) => format!("allowed them as {role}"),
        (RequestState::Ignored, _) => "ignored them".to_string(),
        _ => "decided it".to_string(),
    };
    format!("Already decided: {by} {what}{when}. Nothing was changed.")
}

/// Text from a platform (a display name, an id) made safe to show inside an inline code
/// span: no backticks, no line breaks, at most 64 characters.
pub(super) fn plain(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c == '`' || c.is_control() { ' ' } else { c })
        .collect();
    let mut cut: String = cleaned.trim().chars().take(64).collect();
    if cleaned.trim().chars().count() > 64 {
        cut.push('…');
    }
    if cut.is_empty() {
        cut.push('?');
    }
    cut
}
