//! The team as admins manage it from chat (DESIGN §12.2): people granted a role on a
//! connection, and strangers' access requests waiting for an admin's press. Kept in the
//! store so that a grant holds on every replica at once.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A person an admin let in (or whose role they changed) on one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMember {
    pub connection: String,
    pub user_id: String,
    /// `viewer`, `operator` or `admin`.
    pub role: String,
    pub user_name: String,
    /// Who granted it: a display name, or `command line`.
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
}

/// Where an access request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    Pending,
    Allowed,
    Ignored,
}

impl RequestState {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Pending => "pending",
            RequestState::Allowed => "allowed",
            RequestState::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<RequestState> {
        match text {
            "pending" => Some(RequestState::Pending),
            "allowed" => Some(RequestState::Allowed),
            "ignored" => Some(RequestState::Ignored),
            _ => None,
        }
    }
}

/// A stranger's request to use a connection's bot.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessRequest {
    pub id: String,
    pub connection: String,
    pub user_id: String,
    pub user_name: String,
    /// The chat they wrote in, where they are told when an admin lets them in.
    pub chat: String,
    pub requested_at: DateTime<Utc>,
    pub state: RequestState,
    /// The role granted, when allowed.
    pub role: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait RosterStore: Send + Sync {
    /// The person's grant on `connection`, if an admin made one.
    async fn team_member(&self, connection: &str, user: &str) -> StoreResult<Option<TeamMember>>;
    /// Everyone granted a role on `connection` (every connection when `None`), by id.
    async fn team_members(&self, connection: Option<&str>) -> StoreResult<Vec<TeamMember>>;
    /// Grants a role, replacing the person's earlier grant on that connection.
    async fn set_team_member(&self, member: &TeamMember) -> StoreResult<()>;
    /// Takes a person's grant away; false when they had none.
    async fn remove_team_member(&self, connection: &str, user: &str) -> StoreResult<bool>;
    /// Records a new pending request.
    async fn open_access_request(&self, request: &AccessRequest) -> StoreResult<()>;
    async fn access_request(&self, id: &str) -> StoreResult<Option<AccessRequest>>;
    /// The person's latest request on `connection`.
    async fn last_access_request(
        &self,
        connection: &str,
        user: &str,
    ) -> StoreResult<Option<AccessRequest>>;
    /// The requests made on `connection` since `since`, newest first.
    async fn access_requests_since(
        &self,
        connection: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<AccessRequest>>;
    /// Decides a pending request (allowed with `role`, or ignored); false when it was not
    /// pending any more (another admin, another replica, decided it first).
    async fn decide_access_request(
        &self,
        id: &str,
        state: RequestState,
        role: Option<&str>,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Grants `member` their role and writes it to the audit log, as `actor` (a display
/// name, or `command line`): the one way a grant is made, from a press, `/role` or the
/// command line. A request of theirs still waiting is decided with it.
pub async fn grant(store: &dyn super::Store, member: &TeamMember, actor: &str) -> StoreResult<()> {
    let before = store
        .team_member(&member.connection, &member.user_id)
        .await?;
    store.set_team_member(member).await?;
    let waiting = store
        .last_access_request(&member.connection, &member.user_id)
        .await?
        .filter(|r| r.state == RequestState::Pending);
    if let Some(request) = waiting {
        store
            .decide_access_request(
                &request.id,
                RequestState::Allowed,
                Some(&member.role),
                actor,
                member.granted_at,
            )
            .await?;
    }
    let summary = match before {
        Some(b) if b.role != member.role => format!(
            "changed the role of {} ({}) on {} from {} to {}",
            member.user_name, member.user_id, member.connection, b.role, member.role
        ),
        _ => format!(
            "let {} ({}) use {} as {}",
            member.user_name, member.user_id, member.connection, member.role
        ),
    };
    audit(store, actor, "team.grant", member, &summary).await
}

/// Takes `member`'s grant away and writes it to the audit log; false when there was none.
pub async fn revoke(
    store: &dyn super::Store,
    member: &TeamMember,
    actor: &str,
) -> StoreResult<bool> {
    if !store
        .remove_team_member(&member.connection, &member.user_id)
        .await?
    {
        return Ok(false);
    }
    let summary = format!(
        "removed {} ({}, {}) from {}",
        member.user_name, member.user_id, member.role, member.connection
    );
    audit(store, actor, "team.remove", member, &summary).await?;
    Ok(true)
}

/// An access request ignored, in the audit log.
pub async fn ignored(
    store: &dyn super::Store,
    request: &AccessRequest,
    actor: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let member = TeamMember {
        connection: request.connection.clone(),
        user_id: request.user_id.clone(),
        role: String::new(),
        user_name: request.user_name.clone(),
        granted_by: actor.to_string(),
        granted_at: at,
    };
    let summary = format!(
        "ignored the access request of {} ({}) on {}",
        request.user_name, request.user_id, request.connection
    );
    audit(store, actor, "team.ignore", &member, &summary).await
}

async fn audit(
    store: &dyn super::Store,
    actor: &str,
    action: &str,
    member: &TeamMember,
    summary: &str,
) -> StoreResult<()> {
    store
        .audit(&super::AuditEntry {
            at: member.granted_at,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: Some(format!("{}:{}", member.connection, member.user_id)),
            detail: serde_json::json!({
                "summary": summary,
                "connection": member.connection,
                "user": member.user_id,
                "role": member.role,
            }),
        })
        .await
}
