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

    /// The user's role, or None when they are not permitted.
    pub fn role(&self, platform: &str, user: &str) -> Option<Role> {
        if platform == CONSOLE {
            return Some(Role::Admin);
        }
        let rule = self.rules.get(platform)?;
        if let Some(allowed) = &rule.allowed {
            if !allowed.contains(user) {
                return None;
            }
        }
        Some(rule.roles.get(user).copied().unwrap_or(rule.unnamed))
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
