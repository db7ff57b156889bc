//! The team's grants (`team_members`) and access requests (`access_requests`), in SQL
//! both backends run.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{instant, millis};
use super::{PgStore, SqliteStore};
use crate::store::{AccessRequest, RequestState, RosterStore, StoreError, StoreResult, TeamMember};

macro_rules! member_select {
    ($where:literal) => {
        concat!(
            "SELECT connection, user_id, role, user_name, granted_by, granted_at \
             FROM team_members ",
            $where
        )
    };
}

const MEMBER: &str = member_select!("WHERE connection = $1 AND user_id = $2");
const MEMBERS: &str =
    member_select!("WHERE $1 IS NULL OR connection = $1 ORDER BY connection, user_id");

const UPSERT_MEMBER: &str = "INSERT INTO team_members \
     (connection, user_id, role, user_name, granted_by, granted_at) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (connection, user_id) DO UPDATE SET role = excluded.role, \
     user_name = excluded.user_name, granted_by = excluded.granted_by, \
     granted_at = excluded.granted_at";

const REMOVE_MEMBER: &str = "DELETE FROM team_members WHERE connection = $1 AND user_id = $2";

macro_rules! request_select {
    ($where:literal) => {
        concat!(
            "SELECT id, connection, user_id, user_name, chat, requested_at, state, role, \
             decided_by, decided_at FROM access_requests ",
            $where
        )
    };
}

const REQUEST: &str = request_select!("WHERE id = $1");
const LAST_REQUEST: &str =
    request_select!("WHERE connection = $1 AND user_id = $2 ORDER BY requested_at DESC LIMIT 1");
const REQUESTS_SINCE: &str =
    request_select!("WHERE connection = $1 AND requested_at >= $2 ORDER BY requested_at DESC");

const OPEN_REQUEST: &str = "INSERT INTO access_requests \
     (id, connection, user_id, user_name, chat, requested_at, state) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending')";

const DECIDE_REQUEST: &str = "UPDATE access_requests \
     SET state = $2, role = $3, decided_by = $4, decided_at = $5 \
     WHERE id = $1 AND state = 'pending'";

type MemberTuple = (String, String, String, String, String, i64);
type RequestTuple = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn member(row: MemberTuple) -> StoreResult<TeamMember> {
    let (connection, user_id, role, user_name, granted_by, at) = row;
    Ok(TeamMember {
        granted_at: instant(at, || format!("team member {user_id}'s granted_at"))?,
        connection,
        user_id,
        role,
        user_name,
        granted_by,
    })
}

fn request(row: RequestTuple) -> StoreResult<AccessRequest> {
    let (id, connection, user_id, user_name, chat, at, state, role, by, decided) = row;
    let state = RequestState::parse(&state).ok_or_else(|| {
        StoreError::Corrupt(format!("access request {id}: unknown state `{state}`"))
    })?;
    Ok(AccessRequest {
        requested_at: instant(at, || format!("access request {id}'s requested_at"))?,
        decided_at: decided
            .map(|ms| instant(ms, || format!("access request {id}'s decided_at")))
            .transpose()?,
        id,
        connection,
        user_id,
        user_name,
        chat,
        state,
        role,
        decided_by: by,
    })
}

macro_rules! team {
    ($store:ty) => {
        #[async_trait]
        impl RosterStore for $store {
            async fn team_member(
                &self,
                connection: &str,
                user: &str,
            ) -> StoreResult<Option<TeamMember>> {
                let row: Option<MemberTuple> = sqlx::query_as(MEMBER)
                    .bind(connection)
                    .bind(user)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(member).transpose()
            }

            async fn team_members(&self, connection: Option<&str>) -> StoreResult<Vec<TeamMember>> {
                let rows: Vec<MemberTuple> = sqlx::query_as(MEMBERS)
                    .bind(connection)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(member).collect()
            }

            async fn set_team_member(&self, m: &TeamMember) -> StoreResult<()> {
                sqlx::query(UPSERT_MEMBER)
                    .bind(&m.connection)
                    .bind(&m.user_id)
                    .bind(&m.role)
                    .bind(&m.user_name)
                    .bind(&m.granted_by)
                    .bind(millis(m.granted_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn remove_team_member(&self, connection: &str, user: &str) -> StoreResult<bool> {
                let done = sqlx::query(REMOVE_MEMBER)
                    .bind(connection)
                    .bind(user)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn open_access_request(&self, r: &AccessRequest) -> StoreResult<()> {
                sqlx::query(OPEN_REQUEST)
                    .bind(&r.id)
                    .bind(&r.connection)
                    .bind(&r.user_id)
                    .bind(&r.user_name)
                    .bind(&r.chat)
                    .bind(millis(r.requested_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn access_request(&self, id: &str) -> StoreResult<Option<AccessRequest>> {
                let row: Option<RequestTuple> = sqlx::query_as(REQUEST)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(request).transpose()
            }

            async fn last_access_request(
                &self,
                connection: &str,
                user: &str,
            ) -> StoreResult<Option<AccessRequest>> {
                let row: Option<RequestTuple> = sqlx::query_as(LAST_REQUEST)
                    .bind(connection)
                    .bind(user)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(request).transpose()
            }

            async fn access_requests_since(
                &self,
                connection: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<Vec<AccessRequest>> {
                let rows: Vec<RequestTuple> = sqlx::query_as(REQUESTS_SINCE)
                    .bind(connection)
                    .bind(millis(since))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(request).collect()
            }

            async fn decide_access_request(
                &self,
                id: &str,
                state: RequestState,
                role: Option<&str>,
                by: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(DECIDE_REQUEST)
                    .bind(id)
                    .bind(state.as_str())
                    .bind(role)
                    .bind(by)
                    .bind(millis(at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

team!(SqliteStore);
team!(PgStore);
