//! A platform's connections (DESIGN §12.3): the top-level `[channels.<platform>]` table is
//! the bot named after the platform; each `[channels.<platform>.accounts.<name>]` is one
//! more, named `<platform>:<name>`. An account inherits the top-level table's settings
//! (its `api_url`, `mode`, …) but never its people (`permitted_*`, `roles`,
//! `everyone_role`, `allow_everyone`), its secrets (`*_env`) or its `webhook_url`.

use super::Config;
use serde::de::DeserializeOwned;
use std::fmt;

/// The table of named connections under a platform's section.
pub const ACCOUNTS: &str = "accounts";
/// The key naming the variable that holds a connection's bot token.
pub const TOKEN_ENV: &str = "token_env";

/// A connection's name: `chat` for the top-level bot, `chat:managers` for an
/// account. Deliveries, `/readyz`, people and conversations go by it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionName {
    platform: String,
    account: Option<String>,
}

impl ConnectionName {
    /// The platform's top-level bot.
    pub fn top(platform: &str) -> Self {
        ConnectionName {
            platform: platform.to_string(),
            account: None,
        }
    }

    /// Account `name` of `platform`.
    pub fn account(platform: &str, name: &str) -> Self {
        ConnectionName {
            platform: platform.to_string(),
            account: Some(name.to_string()),
        }
    }

    /// `chat:managers` → platform `chat`, account `managers`.
    pub fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((platform, account)) => ConnectionName::account(platform, account),
            None => ConnectionName::top(text),
        }
    }

    pub fn platform(&self) -> &str {
        &self.platform
    }

    pub fn account_name(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// A key of this connection in the store: `chat.offset` for the top-level bot
    /// (as before there were accounts), `chat:managers.offset` for an account.
    pub fn key(&self, what: &str) -> String {
        format!("{self}.{what}")
    }

    /// An HTTP route of this connection: `/chat/webhook`, `/chat/managers/webhook`.
    pub fn route(&self, tail: &str) -> String {
        match &self.account {
            None => format!("/{}/{tail}", self.platform),
            Some(account) => format!("/{}/{account}/{tail}", self.platform),
        }
    }

    /// Where its table is in the file: `channels.chat` or
    /// `channels.chat.accounts.managers`.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys = vec!["channels", self.platform.as_str()];
        if let Some(account) = &self.account {
            keys.extend([ACCOUNTS, account.as_str()]);
        }
        keys
    }

    /// `keys()` followed by `tail`: the path of one of its settings.
    pub fn at<'a>(&'a self, tail: &[&'a str]) -> Vec<&'a str> {
        let mut keys = self.keys();
        keys.extend_from_slice(tail);
        keys
    }

    /// How a sentence names it: "[channels.chat]" or
    /// "[channels.chat.accounts.managers]".
    pub fn table(&self) -> String {
        format!("[{}]", self.keys().join("."))
    }
}

impl fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            None => f.write_str(&self.platform),
            Some(account) => write!(f, "{}:{account}", self.platform),
        }
    }
}

/// One connection's settings, as its platform's type.
#[derive(Debug, Clone)]
pub struct Connection<T> {
    pub name: ConnectionName,
    /// `token_env`: the variable of its bot token (the platform's own when unset).
    pub token_env: Option<String>,
    pub section: T,
}

impl<T> Connection<T> {
    /// The variable its bot token is read from.
    pub fn token_var<'a>(&'a self, platform_default: &'a str) -> &'a str {
        self.token_env.as_deref().unwrap_or(platform_default)
    }
}

/// Whether an account takes `key` from its platform's top-level table.
fn inherited(key: &str) -> bool {
    !(key == ACCOUNTS
        || key.starts_with("permitted_")
        || key == "roles"
        || key == "everyone_role"
        || key == "allow_everyone"
        || key.ends_with("_env")
        || key == "webhook_url")
}

/// The top-level table as a connection sees it: without `accounts` and `token_env`.
pub(super) fn top_table(section: &toml::Value) -> toml::Table {
    let mut table = section.as_table().cloned().unwrap_or_default();
    table.remove(ACCOUNTS);
    table.remove(TOKEN_ENV);
    table
}

/// Account `name`'s effective table: what it inherits, overlaid by its own keys (without
/// `token_env`).
pub(super) fn account_table(section: &toml::Value, own: &toml::Value) -> toml::Table {
    let mut table: toml::Table = top_table(section)
        .into_iter()
        .filter(|(key, _)| inherited(key))
        .collect();
    for (key, value) in own.as_table().into_iter().flatten() {
        if key != TOKEN_ENV {
            table.insert(key.clone(), value.clone());
        }
    }
    table
}

/// The accounts under a section, by name, as written.
pub(super) fn accounts(section: &toml::Value) -> Vec<(&str, &toml::Value)> {
    section
        .get(ACCOUNTS)
        .and_then(toml::Value::as_table)
        .map(|t| t.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

fn token_env(table: &toml::Value) -> Option<String> {
    table.get(TOKEN_ENV)?.as_str().map(str::to_string)
}

impl Config {
    /// Every connection of `platform` the file configures, the top-level one first; each
    /// section that `fanops check` found wrong reads as its defaults where it is wrong.
    pub fn connections<T: DeserializeOwned + Default>(&self, platform: &str) -> Vec<Connection<T>> {
        let Some(section) = self.channels.get(platform) else {
            return Vec::new();
        };
        let read =
            |table: toml::Table| T::deserialize(toml::Value::Table(table)).unwrap_or_default();
        let mut all = vec![Connection {
            name: ConnectionName::top(platform),
            token_env: token_env(section),
            section: read(top_table(section)),
        }];
        for (name, own) in accounts(section) {
            all.push(Connection {
                name: ConnectionName::account(platform, name),
                token_env: token_env(own),
                section: read(account_table(section, own)),
            });
        }
        all
    }

    /// The names of every connection configured, of every platform, in the file's order
    /// of platforms: what `[deliver] channel`, `budgets.notify` and the like may name.
    pub fn connection_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for platform in self.channels.names() {
            let section = self
                .channels
                .get(platform)
                .cloned()
                .unwrap_or(toml::Value::Table(Default::default()));
            names.push(platform.to_string());
            for (account, _) in accounts(&section) {
                names.push(ConnectionName::account(platform, account).to_string());
            }
        }
        names
    }

    /// What a task, a budget notice or an event rule may post through: every platform
    /// this build runs (by its top-level name, configured or not) and every account
    /// configured under one of them (`<platform>:<account>`).
    pub fn deliverable(&self) -> Vec<String> {
        let built = self.platforms.built();
        let mut names: Vec<String> = built.iter().map(|p| p.to_string()).collect();
        for name in self.connection_names() {
            let platform = ConnectionName::parse(&name);
            if built.contains(&platform.platform()) && !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The variables every connection's `*_env` keys name (their secrets).
    pub(super) fn connection_secret_vars(&self) -> Vec<String> {
        let mut vars = Vec::new();
        for platform in self.channels.names() {
            let Some(section) = self.channels.get(platform) else {
                continue;
            };
            let tables =
                std::iter::once(section).chain(accounts(section).into_iter().map(|(_, t)| t));
            for table in tables {
                for (key, value) in table.as_table().into_iter().flatten() {
                    if let (true, Some(var)) = (key.ends_with("_env"), value.as_str()) {
                        vars.push(var.to_string());
                    }
                }
            }
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keys_and_routes() {
        let top = ConnectionName::top("chat");
        let managers = ConnectionName::account("chat", "managers");
        assert_eq!(top.to_string(), "chat");
        assert_eq!(managers.to_string(), "chat:managers");
        assert_eq!(ConnectionName::parse("chat:managers"), managers);
        assert_eq!(ConnectionName::parse("chat"), top);
        assert_eq!(top.key("offset"), "chat.offset");
        assert_eq!(managers.key("offset"), "chat:managers.offset");
        assert_eq!(top.route("webhook"), "/chat/webhook");
        assert_eq!(managers.route("webhook"), "/chat/managers/webhook");
        assert_eq!(managers.table(), "[channels.chat.accounts.managers]");
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default)]
    struct Section {
        api_url: String,
        permitted_users: Vec<i64>,
    }

    #[test]
    fn an_account_inherits_settings_but_not_people_or_secrets() {
        let mut config = Config::default();
        let section: toml::Value = toml::from_str(
            "api_url = \"http://a\"\npermitted_users = [1]\ntoken_env = \"TOP\"\n\
             [accounts.managers]\ntoken_env = \"MANAGERS\"\npermitted_users = [3]\n\
             [accounts.other]\napi_url = \"http://b\"\ntoken_env = \"OTHER\"\n",
        )
        .unwrap();
        config.channels.insert("chat", section);
        let all = config.connections::<Section>("chat");
        let names: Vec<String> = all.iter().map(|c| c.name.to_string()).collect();
        assert_eq!(names, ["chat", "chat:managers", "chat:other"]);
        assert_eq!(all[0].section.permitted_users, [1]);
        assert_eq!(all[0].token_var("DEFAULT"), "TOP");
        assert_eq!(all[1].section.api_url, "http://a", "inherited");
        assert_eq!(all[1].section.permitted_users, [3]);
        assert_eq!(all[1].token_var("DEFAULT"), "MANAGERS");
        assert_eq!(all[2].section.api_url, "http://b");
        assert!(
            all[2].section.permitted_users.is_empty(),
            "people are not inherited"
        );
        assert_eq!(config.connection_names(), names);
        let mut vars = config.connection_secret_vars();
        vars.sort();
        assert_eq!(vars, ["MANAGERS", "OTHER", "TOP"]);
    }
}
