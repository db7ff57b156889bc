//! A chat platform as the rest of fanops sees it: what its folder tells the config (its
//! section, its secrets, its checks), how its people map to roles, and the channels it
//! runs. The registry in `channels/mod.rs` lists one per platform.

use super::{Channel, ChannelParts};
use crate::config::{Config, PlatformConfig, Report};
use crate::core::PlatformAccess;
use futures::future::BoxFuture;
use std::fmt;
use std::sync::Arc;

/// A chat platform: its folder implements this once.
pub trait Platform: PlatformConfig {
    /// Who may use each of its connections and with which role, by connection name
    /// (none when its section is not configured).
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)>;
    /// A channel for each connection configured whose secrets are set (a missing secret
    /// is logged and that connection left out).
    fn build(&self, config: &Config, parts: &ChannelParts)
        -> anyhow::Result<Vec<Arc<dyn Channel>>>;
    /// `fanops doctor`: one check per connection configured, asking the live service
    /// whether its credentials work (none when its section is not configured).
    fn doctor<'a>(&self, config: &'a Config) -> Vec<Check<'a>>;
}

/// How one `fanops doctor` line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Works, but something may bite later; does not fail the run.
    Warn,
    /// Does not work: the line says what to do.
    Fail,
}

/// One `fanops doctor` line: the part it is about and what was found (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    /// `OnlyFansAPI`, `Database`, `<platform title> (<account>)`, …
    pub part: String,
    pub text: String,
}

impl Finding {
    pub fn ok(part: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding::new(Verdict::Ok, part, text)
    }

    pub fn warn(part: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding::new(Verdict::Warn, part, text)
    }

    pub fn fail(part: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding::new(Verdict::Fail, part, text)
    }

    fn new(verdict: Verdict, part: impl Into<String>, text: impl Into<String>) -> Finding {
        Finding {
            verdict,
            part: part.into(),
            text: text.into(),
        }
    }
}

/// `ok    OnlyFansAPI: key accepted`, `warn  …`, `FAIL  …`.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.verdict {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
        };
        write!(f, "{mark:<6}{}: {}", self.part, self.text)
    }
}

/// A check yet to run: the part it is about (named in the line when it takes too long)
/// and what it finds.
pub struct Check<'a> {
    pub part: String,
    pub run: BoxFuture<'a, Vec<Finding>>,
}

impl<'a> Check<'a> {
    pub fn new(
        part: impl Into<String>,
        run: impl std::future::Future<Output = Vec<Finding>> + Send + 'a,
    ) -> Check<'a> {
        Check {
            part: part.into(),
            run: Box::pin(run),
        }
    }
}

/// How a doctor line names a connection: the platform's title, and the account in
/// brackets (`Chat`, `Chat (managers)`).
pub fn part_name(title: &str, connection: &crate::config::ConnectionName) -> String {
    match connection.account_name() {
        None => title.to_string(),
        Some(account) => format!("{title} ({account})"),
    }
}

/// One check per connection of `platform` configured, each named `title` (`title
/// (account)` for an account) and run by `check`.
pub fn per_connection<'a, T, F, Fut>(
    config: &'a Config,
    platform: &str,
    title: &str,
    check: F,
) -> Vec<Check<'a>>
where
    T: serde::de::DeserializeOwned + Default,
    F: Fn(&'a Config, crate::config::Connection<T>, String) -> Fut,
    Fut: std::future::Future<Output = Vec<Finding>> + Send + 'a,
{
    config
        .connections::<T>(platform)
        .into_iter()
        .map(|connection| {
            let part = part_name(title, &connection.name);
            Check::new(part.clone(), check(config, connection, part))
        })
        .collect()
}

/// A platform this build was compiled without: its section is accepted and warned about.
pub struct Unbuilt {
    pub name: &'static str,
    pub title: &'static str,
}

impl PlatformConfig for Unbuilt {
    fn name(&self) -> &'static str {
        self.name
    }

    fn title(&self) -> &'static str {
        self.title
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[]
    }

    /// Its cargo feature has the platform's name.
    fn unbuilt(&self) -> Option<&'static str> {
        Some(self.name)
    }

    fn check(&self, _: &mut Report<'_>) {}
}

impl Platform for Unbuilt {
    fn access(&self, _: &Config) -> Vec<(String, PlatformAccess)> {
        Vec::new()
    }

    fn build(&self, _: &Config, _: &ChannelParts) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        Ok(Vec::new())
    }

    /// A configured section this build cannot run is a line that says so.
    fn doctor<'a>(&self, config: &'a Config) -> Vec<Check<'a>> {
        if !config.channels.contains(self.name) {
            return Vec::new();
        }
        let (title, name) = (self.title, self.name);
        vec![Check::new(title, async move {
            vec![Finding::fail(
                title,
                format!("[channels.{name}] is configured but this build has no {title}: build with the `{name}` cargo feature"),
            )]
        })]
    }
}

/// The policy `platform` makes of its section written as `text` (its folder's tests).
#[cfg(test)]
pub(crate) fn policy_of(platform: &dyn Platform, text: &str) -> crate::core::AccessPolicy {
    let mut config = Config::default();
    let section = toml::from_str(text).expect("the test's section is TOML");
    config.channels.insert(platform.name(), section);
    let access = platform.access(&config);
    assert!(!access.is_empty(), "a configured section has a policy");
    crate::core::AccessPolicy::new(access)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_is_one_line_its_mark_in_a_column() {
        assert_eq!(
            Finding::ok("Database", "fine").to_string(),
            "ok    Database: fine"
        );
        assert_eq!(
            Finding::warn("MCP sheets", "hm").to_string(),
            "warn  MCP sheets: hm"
        );
        assert_eq!(
            Finding::fail("Chat (ops)", "no").to_string(),
            "FAIL  Chat (ops): no"
        );
        let name = crate::config::ConnectionName::account("chat", "managers");
        assert_eq!(part_name("Chat", &name), "Chat (managers)");
    }

    #[tokio::test]
    async fn a_section_this_build_cannot_run_fails_its_line() {
        let unbuilt = Unbuilt {
            name: "chat",
            title: "Chat",
        };
        let mut config = Config::default();
        assert!(
            unbuilt.doctor(&config).is_empty(),
            "not configured: no line"
        );
        config
            .channels
            .insert("chat", toml::Value::Table(Default::default()));
        let mut checks = unbuilt.doctor(&config);
        let findings = checks.remove(0).run.await;
        assert_eq!(findings[0].verdict, Verdict::Fail);
        assert!(
            findings[0].text.contains("`chat` cargo feature"),
            "{findings:?}"
        );
    }
}
