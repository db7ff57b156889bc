//! `/team` and `/role` in chat: the connection's people and roles for anyone on the team,
//! and an admin's change of one, confirmed like any write.

use super::team::plain;
use super::{Core, Inbound, Outbound, Role};
use crate::store::{RequestState, TeamMember};
use chrono::Duration;
use serde_json::json;

const ROLE_HELP: &str = "Change a role: /role <user id> viewer|operator|admin|remove (admins).";

impl Core {
    /// `/team`: who is on this connection and how, and who is waiting.
    pub(super) async fn team_command(&self, inbound: &Inbound) -> anyhow::Result<Outbound> {
        let connection = inbound.connection.as_str();
        let mut lines = vec![format!("Team of {connection}:")];
        for (user, role) in self.access.seed(connection) {
            lines.push(format!(
                "- `{}`: {} (from fanops.toml)",
                plain(&user),
                role.as_str()
            ));
        }
        let granted = self.store.team_members(Some(connection)).await?;
        for member in granted
            .iter()
            .filter(|m| self.access.named(connection, &m.user_id).is_none())
        {
            lines.push(format!(
                "- `{}` (id `{}`): {}, let in by {} on {}",
                plain(&member.user_name),
                plain(&member.user_id),
                member.role,
                plain(&member.granted_by),
                member.granted_at.format("%Y-%m-%d")
            ));
        }
        if let Some(role) = self.access.open_role(connection) {
            lines.push(format!(
                "- everyone else here: {} (from fanops.toml)",
                role.as_str()
            ));
        }
        if lines.len() == 1 {
            lines.push("- nobody yet".into());
        }
        self.waiting_lines(connection, &granted, &mut lines).await?;
        lines.push(String::new());
        lines.push(ROLE_HELP.into());
        Ok(Outbound::text(lines.join("\n")))
    }

    /// The requests of the last 30 days still waiting or ignored.
    async fn waiting_lines(
        &self,
        connection: &str,
        granted: &[TeamMember],
        lines: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let since = self.agent.clock().now() - Duration::days(30);
        let requests = self.store.access_requests_since(connection, since).await?;
        let open = |state| {
            let mut seen = Vec::new();
            requests
                .iter()
                .filter(|r| r.state == state && !granted.iter().any(|m| m.user_id == r.user_id))
                .filter(|r| {
                    let first = !seen.contains(&r.user_id);
                    seen.push(r.user_id.clone());
                    first
                })
                .map(|r| {
                    format!(
                        "- `{}` (id `{}`), asked {}",
                        plain(&r.user_name),
                        plain(&r.user_id),
                        r.requested_at.format("%Y-%m-%d %H:%M UTC")
                    )
                })
                .collect::<Vec<_>>()
        };
        for (state, heading) in [
            (
                RequestState::Pending,
                "Waiting for an admin (/role <id> viewer lets one in):",
            ),
            (
                RequestState::Ignored,
                "Ignored (no new request for 30 days; /role <id> viewer lets one in):",
            ),
        ] {
            let found = open(state);
            if !found.is_empty() {
                lines.push(String::new());
                lines.push(heading.into());
                lines.extend(found);
            }
        }
        Ok(())
    }

    /// `/role <id> viewer|operator|admin|remove`: proposes the change for confirmation.
    pub(super) async fn role_command(
        &self,
        inbound: &Inbound,
        role: Role,
        words: &[&str],
    ) -> anyhow::Result<Outbound> {
        let connection = inbound.connection.as_str();
        if role < Role::Admin {
            return Ok(Outbound::text(format!(
                "Only an admin can change the team; your role is {}.",
                role.as_str()
            )));
        }
        let [user, new] = words else {
            return Ok(Outbound::text(format!(
                "I don't understand that. {ROLE_HELP}"
            )));
        };
        let user = user.trim_start_matches('@');
        let new = new.to_ascii_lowercase();
        if new != "remove" && Role::parse(&new).is_none() {
            return Ok(Outbound::text(format!(
                "`{}` is not a role. {ROLE_HELP}",
                plain(&new)
            )));
        }
        if let Some(seeded) = self.access.named(connection, user) {
            return Ok(Outbound::text(format!(
                "`{}` is {} in fanops.toml: people the config file names cannot be changed from chat. Change them in the file's [channels] section and restart.",
                plain(user),
                seeded.as_str()
            )));
        }
        let args = json!({"connection": connection, "user": user, "role": new});
        self.propose(inbound, role, crate::agent::SET_ROLE, &args)
            .await
    }
}
