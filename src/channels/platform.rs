//! A chat platform as the rest of fanops sees it: what its folder tells the config (its
//! section, its secrets, its checks), how its people map to roles, and the channels it
//! runs. The registry in `channels/mod.rs` lists one per platform.

use super::{Channel, ChannelParts};
use crate::config::{Config, PlatformConfig, Report};
use crate::core::PlatformAccess;
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
