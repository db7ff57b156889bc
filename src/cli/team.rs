//! `fanops team list|allow ID ROLE|remove ID [--channel NAME]`: the team of each bot from
//! the command line (as `/team` and `/role` do in chat, without the confirmation: whoever
//! runs the command line holds the database). Every change is in the audit log.

use crate::app;
use crate::channels;
use crate::chat::Role;
use crate::config::Config;
use crate::core::AccessPolicy;
use crate::store::team as grants;
use crate::store::{RequestState, SharedStore, TeamMember};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// Who the audit log says changed the team from the command line.
const ACTOR: &str = "command line";

/// What `fanops team` was asked to do.
pub enum TeamAction {
    List,
    Allow { user: String, role: String },
    Remove { user: String },
}

/// Runs `action` on the connection `channel` names (every connection for `list` when
/// none is named; the only one for a change when there is one).
pub async fn run(config: Config, action: TeamAction, channel: Option<&str>) -> anyhow::Result<()> {
    let seed = channels::access(&config);
    let configured: Vec<String> = seed.connections().map(str::to_string).collect();
    if let Some(name) = channel {
        if !configured.iter().any(|c| c == name) {
            anyhow::bail!(
                "--channel {name} is not a configured connection (configured: {})",
                listed(&configured)
            );
        }
    }
    app::install_tls_provider();
    let store = app::open_store(&config).await?;
    match action {
        TeamAction::List => {
            let shown: Vec<String> = match channel {
                Some(name) => vec![name.to_string()],
                None => configured,
            };
            list(&store, &seed, &shown).await
        }
        TeamAction::Allow { user, role } => {
            let connection = one(channel, &configured)?;
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("`{role}` is not a role: use viewer, operator or admin")
            })?;
            refuse_seed(&seed, &connection, &user)?;
            allow(&store, &connection, &user, role).await
        }
        TeamAction::Remove { user } => {
            let connection = one(channel, &configured)?;
            refuse_seed(&seed, &connection, &user)?;
            let Some(member) = store.team_member(&connection, &user).await? else {
                anyhow::bail!(
                    "{user} has no role granted from chat on {connection}: nothing to remove"
                );
            };
            grants::revoke(store.as_ref(), &member, ACTOR).await?;
            println!(
                "Removed {} ({user}, {}) from {connection}.",
                member.user_name, member.role
            );
            Ok(())
        }
    }
}

/// Grants the role (a request of theirs still waiting is decided with it).
async fn allow(
    store: &SharedStore,
    connection: &str,
    user: &str,
    role: Role,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let request = store.last_access_request(connection, user).await?;
    let name = request.map_or(user.to_string(), |r| r.user_name);
    let member = TeamMember {
        connection: connection.to_string(),
        user_id: user.to_string(),
        role: role.as_str().to_string(),
        user_name: name,
        granted_by: ACTOR.to_string(),
        granted_at: now,
    };
    grants::grant(store.as_ref(), &member, ACTOR).await?;
    println!(
        "{user} may now use {connection} as {} (on every replica, no restart needed).",
        role.as_str()
    );
    Ok(())
}

async fn list(store: &SharedStore, seed: &AccessPolicy, shown: &[String]) -> anyhow::Result<()> {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(["connection", "user id", "name", "role", "from"]);
    for connection in shown {
        for (user, role) in seed.seed(connection) {
            table.add_row(vec![
                connection.clone(),
                user,
                String::new(),
                role.as_str().into(),
                "fanops.toml".into(),
            ]);
        }
        if let Some(role) = seed.open_role(connection) {
            table.add_row(vec![
                connection.clone(),
                "everyone".into(),
                String::new(),
                role.as_str().into(),
                "fanops.toml".into(),
            ]);
        }
        for m in store.team_members(Some(connection)).await? {
            if seed.named(connection, &m.user_id).is_some() {
                continue;
            }
            let from = format!("{} on {}", m.granted_by, m.granted_at.format("%Y-%m-%d"));
            table.add_row(vec![
                connection.clone(),
                m.user_id,
                m.user_name,
                m.role,
                from,
            ]);
        }
        let since = chrono::Utc::now() - chrono::Duration::days(30);
        for r in store.access_requests_since(connection, since).await? {
            if r.state == RequestState::Pending {
                let asked = format!("asked {}", r.requested_at.format("%Y-%m-%d %H:%M UTC"));
                table.add_row(vec![
                    connection.clone(),
                    r.user_id,
                    r.user_name,
                    "waiting".into(),
                    asked,
                ]);
            }
        }
    }
    println!("{table}");
    Ok(())
}

/// The connection a change applies to: the one named, or the only one configured.
fn one(channel: Option<&str>, configured: &[String]) -> anyhow::Result<String> {
    match (channel, configured) {
        (Some(name), _) => Ok(name.to_string()),
        (None, [only]) => Ok(only.clone()),
        (None, []) => anyhow::bail!(
            "no chat platform is configured: add a [channels.<platform>] section first"
        ),
        (None, many) => anyhow::bail!(
            "several bots are configured ({}): name one with --channel",
            listed(many)
        ),
    }
}

fn refuse_seed(seed: &AccessPolicy, connection: &str, user: &str) -> anyhow::Result<()> {
    if let Some(role) = seed.named(connection, user) {
        anyhow::bail!(
            "{user} is {} on {connection} in the config file: change them there (people the file names are its seed)",
            role.as_str()
        );
    }
    Ok(())
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
