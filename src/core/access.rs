//! Who may talk to the bot, and with which role (DESIGN §3). Each platform's folder says
//! how its section maps people to roles ([`PlatformAccess`]); the core only applies it.

pub use crate::chat::Role;
use std::collections::{BTreeMap, BTreeSet};

/// One platform's rule: who is allowed (None = everyone) and their roles.
#[derive(Debug, Clone)]
pub struct PlatformAccess {
    pub allowed: Option<BTreeSet<String>>,
    pub roles: BTreeMap<String, Role>,
    /// The role of an allowed user not named in `roles`.
    pub unnamed: Role,
}

impl PlatformAccess {
    /// A config file's `roles` table (user id → role name), its unknown roles left out
    /// (`fanops check` refuses them).
    pub fn roles_of(map: &BTreeMap<String, String>) -> BTreeMap<String, Role> {
        map.iter()
            .filter_map(|(user, role)| Some((user.clone(), Role::parse(role)?)))
            .collect()
    }
}

/// The access policy of every platform configured.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    rules: BTreeMap<String, PlatformAccess>,
}

/// The terminal is the operator's own machine: always admin.
pub const CONSOLE: &str = "console";

impl AccessPolicy {
    /// The policy of each platform, by its name.
    pub fn new(rules: impl IntoIterator<Item = (String, PlatformAccess)>) -> AccessPolicy {
        AccessPolicy {
            rules: rules.into_iter().collect(),
        }
    }

    /// The user's role by the config file alone, or None when it does not permit them.
    pub fn role(&self, connection: &str, user: &str) -> Option<Role> {
        self.named(connection, user)
            .or_else(|| self.open_role(connection))
    }

    /// The role the file gives `user` by name (listed, or in `roles`): the seed, which
    /// chat cannot change.
    pub fn named(&self, connection: &str, user: &str) -> Option<Role> {
        if connection == CONSOLE {
            return Some(Role::Admin);
        }
        let rule = self.rules.get(connection)?;
        if let Some(role) = rule.roles.get(user) {
            let listed = rule.allowed.as_ref().is_none_or(|a| a.contains(user));
            return listed.then_some(*role);
        }
        let allowed = rule.allowed.as_ref()?;
        allowed.contains(user).then_some(rule.unnamed)
    }

    /// The role of anyone at all on a connection open to everyone; None when it is listed.
    pub fn open_role(&self, connection: &str) -> Option<Role> {
        let rule = self.rules.get(connection)?;
        rule.allowed.is_none().then_some(rule.unnamed)
    }

    /// Whether `connection` is configured.
    pub fn knows(&self, connection: &str) -> bool {
        self.rules.contains_key(connection)
    }

    /// The connections configured, by name.
    pub fn connections(&self) -> impl Iterator<Item = &str> {
        self.rules.keys().map(String::as_str)
    }

    /// The people the file names on `connection`, with their roles, by id.
    pub fn seed(&self, connection: &str) -> Vec<(String, Role)> {
        let Some(rule) = self.rules.get(connection) else {
            return Vec::new();
        };
        let mut people: BTreeSet<&String> = rule.roles.keys().collect();
        people.extend(rule.allowed.iter().flatten());
        people
            .into_iter()
            .filter_map(|user| Some((user.clone(), self.named(connection, user)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(users: &[&str], roles: &[(&str, &str)]) -> PlatformAccess {
        PlatformAccess {
            allowed: Some(users.iter().map(|u| u.to_string()).collect()),
            roles: PlatformAccess::roles_of(
                &roles
                    .iter()
                    .map(|(u, r)| (u.to_string(), r.to_string()))
                    .collect(),
            ),
            unnamed: Role::Operator,
        }
    }

    #[test]
    fn a_listed_platform_serves_only_its_list_with_their_roles() {
        let policy =
            AccessPolicy::new([("chat".to_string(), listed(&["1", "2"], &[("2", "viewer")]))]);
        assert_eq!(policy.role("chat", "1"), Some(Role::Operator));
        assert_eq!(policy.role("chat", "2"), Some(Role::Viewer));
        assert_eq!(policy.role("chat", "3"), None);
        assert_eq!(
            policy.role("other", "anyone"),
            None,
            "an unconfigured platform serves nobody"
        );
        assert_eq!(policy.role(CONSOLE, "local"), Some(Role::Admin));
    }

    #[test]
    fn an_open_platform_gives_the_unnamed_their_role() {
        let open = PlatformAccess {
            allowed: None,
            roles: PlatformAccess::roles_of(&[("U1".to_string(), "admin".to_string())].into()),
            unnamed: Role::Viewer,
        };
        let policy = AccessPolicy::new([("chat".to_string(), open)]);
        assert_eq!(policy.role("chat", "U1"), Some(Role::Admin));
        assert_eq!(policy.role("chat", "U2"), Some(Role::Viewer));
    }
}
