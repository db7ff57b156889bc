//! Where a config's problems go: each at its key's line.

use super::{
    locate::PathPart, parse_duration, path, Config, Connection, ConnectionName, Locator, Problem,
};
use serde::de::DeserializeOwned;

/// The problems found in a config file, each located at its key's line (or at the
/// environment variable that set it). A platform's folder checks its section through it.
pub struct Report<'a> {
    origin: &'a str,
    pub(super) locator: &'a Locator,
    pub(super) config: &'a Config,
    /// Keys left out for a value of the wrong type, already reported.
    dropped: &'a [Vec<PathPart>],
    problems: &'a mut Vec<Problem>,
}

impl<'a> Report<'a> {
    pub(super) fn new(
        config: &'a Config,
        origin: &'a str,
        locator: &'a Locator,
        dropped: &'a [Vec<PathPart>],
        problems: &'a mut Vec<Problem>,
    ) -> Self {
        Report {
            origin,
            locator,
            config,
            dropped,
            problems,
        }
    }

    /// The config being checked.
    pub fn config(&self) -> &'a Config {
        self.config
    }

    /// The table `[channels.<name>]` as `T`, each unknown key and wrong value of it
    /// reported at its line (a wrong value is left at its default). `None` when the file
    /// has no such table or a required key is missing.
    pub fn section<T: DeserializeOwned>(&mut self, name: &str) -> Option<T> {
        let keys = ["channels", name];
        super::parse::parse_toml_table(self.origin, self.locator, &keys, &[], self.problems)
    }

    /// Every connection of `platform` (DESIGN §12.3) as `T`: the top-level table and each
    /// account, their unknown keys and wrong values reported at their lines, and each
    /// account's name and `token_env` checked. `platform_token` is the variable the
    /// top-level bot's token is read from by default.
    pub fn connections<T: DeserializeOwned + Default>(
        &mut self,
        platform: &str,
        platform_token: &str,
    ) -> Vec<Connection<T>> {
        use super::connection::{ACCOUNTS, TOKEN_ENV};
        let skip = [ACCOUNTS, TOKEN_ENV];
        let top = ConnectionName::top(platform);
        super::parse::parse_toml_table::<T>(
            self.origin,
            self.locator,
            &top.keys(),
            &skip,
            self.problems,
        );
        let all = self.config.connections::<T>(platform);
        let mut tokens: Vec<(String, String)> = Vec::new();
        for connection in &all {
            let name = &connection.name;
            if let Some(account) = name.account_name() {
                let keys = name.keys();
                super::parse::parse_toml_table::<T>(
                    self.origin,
                    self.locator,
                    &keys,
                    &[TOKEN_ENV],
                    self.problems,
                );
                if !account
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
                    || account.is_empty()
                {
                    self.at(&keys, format!("account name `{account}` may use only a-z, 0-9, _ and - (it is part of `{name}` and of its webhook routes)"));
                }
                if connection.token_env.is_none() {
                    self.at(&keys, format!("{} needs token_env: the environment variable that holds this bot's token", name.table()));
                }
            }
            let var = connection.token_var(platform_token).to_string();
            if let Some((other, _)) = tokens.iter().find(|(_, v)| *v == var) {
                self.at(&name.at(&[TOKEN_ENV]), format!("`{name}` reads its token from {var} like `{other}`: each bot needs its own token variable"));
            }
            tokens.push((name.to_string(), var));
        }
        all
    }

    /// Whether `keys` was defined in the file but left out for a wrong value, so that a
    /// reference to it is not reported as unknown too.
    pub(super) fn dropped(&self, keys: &[&str]) -> bool {
        self.dropped.contains(&path(keys))
    }

    pub fn at(&mut self, keys: &[&str], message: impl Into<String>) {
        self.at_path(&path(keys), message)
    }

    pub fn at_path(&mut self, parts: &[PathPart], message: impl Into<String>) {
        let dotted = super::locate::display(parts);
        let problem = match self.config.from_env.get(dotted.as_str()) {
            Some(var) => Problem {
                origin: format!("environment variable {var}"),
                line: 0,
                message: message.into(),
            },
            None => Problem {
                origin: self.origin.to_string(),
                line: self.locator.line_of(parts),
                message: message.into(),
            },
        };
        self.problems.push(problem);
    }

    pub fn url(&mut self, keys: &[&str], value: &str) {
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(u) => self.at(
                keys,
                format!(
                    "`{value}` must be an http:// or https:// URL (got scheme `{}`)",
                    u.scheme()
                ),
            ),
            Err(e) => self.at(keys, format!("`{value}` is not a valid URL: {e}")),
        }
    }

    pub fn duration(&mut self, keys: &[&str], value: &str) {
        if parse_duration(value).is_none() {
            self.at(
                keys,
                format!("`{value}` is not a duration (write e.g. \"30s\", \"10m\", \"1h\")"),
            );
        }
    }

    /// Each of a connection's `roles` must name a role.
    pub fn roles(
        &mut self,
        connection: &ConnectionName,
        roles: &std::collections::BTreeMap<String, String>,
    ) {
        for (user, role) in roles {
            if !matches!(role.as_str(), "viewer" | "operator" | "admin") {
                self.at(
                    &connection.at(&["roles", user]),
                    format!("role `{role}` of user {user} must be viewer, operator or admin"),
                );
            }
        }
    }

    /// `keys` names a role a whole workspace or server gets (`everyone_role`).
    pub fn role(&mut self, keys: &[&str], role: &str) {
        if !matches!(role, "viewer" | "operator" | "admin") {
            let key = keys.last().copied().unwrap_or("role");
            self.at(
                keys,
                format!("{key} `{role}` must be viewer, operator or admin"),
            );
        }
    }
}
