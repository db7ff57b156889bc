//! `set_role`: gives a person a role on one connection, or takes it away. A write only an
//! admin may ask for and confirm; `/role <id> …` proposes it through the gate (it is not
//! offered to the model). The core refuses the config file's people before proposing.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::chat::Role;
use crate::llm::ToolSpec;
use crate::store::team as grants;
use crate::store::TeamMember;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const NAME: &str = "set_role";

pub struct SetRole;

/// The validated arguments: the connection, the person, and the new role (None: remove).
struct Change<'a> {
    connection: &'a str,
    user: &'a str,
    role: Option<Role>,
}

fn change_of(args: &Value) -> Result<Change<'_>, ToolError> {
    let text = |key: &str| {
        args.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ToolError::bad(NAME, format!("`{key}` is required")))
    };
    let role = match text("role")? {
        "remove" => None,
        other => Some(Role::parse(other).ok_or_else(|| {
            ToolError::bad(NAME, "`role` must be viewer, operator, admin or remove")
        })?),
    };
    Ok(Change {
        connection: text("connection")?,
        user: text("user")?,
        role,
    })
}

#[async_trait]
impl Tool for SetRole {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Give a person a role on one chat connection, or remove them (admin only, confirmed by an admin).",
            json!({
                "type": "object",
                "properties": {
                    "connection": {"type": "string"},
                    "user": {"type": "string"},
                    "role": {"type": "string", "enum": ["viewer", "operator", "admin", "remove"]}
                },
                "required": ["connection", "user", "role"]
            }),
        )
    }

    fn offered(&self) -> bool {
        false
    }

    fn admin_only(&self) -> bool {
        true
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        let change = change_of(args)?;
        if ctx.tags.kind.is_unattended() || ctx.role < Role::Admin {
            return Err(ToolError::Forbidden(format!(
                "only an admin can change the team; your role is {}",
                ctx.role.as_str()
            )));
        }
        let now = ctx
            .store
            .team_member(change.connection, change.user)
            .await?;
        let (who, connection) = (change.user, change.connection);
        let summary = match (change.role, now) {
            (None, None) => {
                return Err(ToolError::Forbidden(format!(
                    "{who} has no role granted from chat on {connection}, so there is nothing to remove"
                )))
            }
            (None, Some(m)) => format!("Remove {} ({who}, {}) from {connection}.", m.user_name, m.role),
            (Some(role), None) => format!("Let {who} use {connection} as {} (now: not on the team).", role.as_str()),
            (Some(role), Some(m)) => format!(
                "Make {} ({who}) {} on {connection} (now {}).",
                m.user_name,
                role.as_str(),
                m.role
            ),
        };
        Ok(Plan::Write { summary })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        if !matches!(access, Access::Confirmed(_)) {
            return Err(ToolError::NotConfirmed(NAME.into()));
        }
        let change = change_of(args)?;
        let store = ctx.store.as_ref();
        let earlier = store.team_member(change.connection, change.user).await?;
        let actor = ctx.tags.user.as_str();
        let name = earlier
            .as_ref()
            .map_or(change.user.to_string(), |m| m.user_name.clone());
        let member = TeamMember {
            connection: change.connection.to_string(),
            user_id: change.user.to_string(),
            role: change
                .role
                .map_or(String::new(), |r| r.as_str().to_string()),
            user_name: name,
            granted_by: actor.to_string(),
            granted_at: chrono::Utc::now(),
        };
        let done = match change.role {
            Some(role) => {
                grants::grant(store, &member, actor).await?;
                format!(
                    "Done: {} is now {} on {}.",
                    member.user_name,
                    role.as_str(),
                    member.connection
                )
            }
            None => {
                let member = TeamMember {
                    role: earlier.map(|m| m.role).unwrap_or_default(),
                    ..member
                };
                grants::revoke(store, &member, actor).await?;
                format!(
                    "Done: {} is no longer on the team of {}.",
                    member.user_name, member.connection
                )
            }
        };
        Ok(Value::String(done))
    }
}
