//! What the configuration knows of a chat platform: only what the platform's own folder
//! under `channels/` says through [`PlatformConfig`]. The registry of platforms is handed
//! to [`Config::load`](super::Config::load); nothing in `config` names one.

use super::Report;
use std::fmt;

/// A chat platform as the config file sees it.
pub trait PlatformConfig: Sync {
    /// Its section, `[channels.<name>]`, and its name in deliveries and `/readyz`.
    fn name(&self) -> &'static str;
    /// How people call it, in sentences.
    fn title(&self) -> &'static str;
    /// The environment variables its secrets are read from.
    fn secrets(&self) -> &'static [&'static str];
    /// The cargo feature that builds it, when this build lacks it: its section is then
    /// accepted (one file can serve several builds) but warned about and never run.
    fn unbuilt(&self) -> Option<&'static str> {
        None
    }
    /// Checks its section (present in the file), each problem at its line.
    fn check(&self, r: &mut Report<'_>);
    /// What `fanops init` asks to set it up, and the section it writes.
    fn setup(&self) -> Option<&'static super::Setup> {
        None
    }
}

/// The platforms a config was loaded with (the registry's), in its order.
#[derive(Clone, Default)]
pub struct Platforms(Vec<&'static dyn PlatformConfig>);

impl Platforms {
    pub fn new(platforms: &[&'static dyn PlatformConfig]) -> Self {
        Platforms(platforms.to_vec())
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static dyn PlatformConfig> + '_ {
        self.0.iter().copied()
    }

    pub fn get(&self, name: &str) -> Option<&'static dyn PlatformConfig> {
        self.iter().find(|p| p.name() == name)
    }

    /// The names of the platforms this build runs.
    pub fn built(&self) -> Vec<&'static str> {
        self.iter()
            .filter(|p| p.unbuilt().is_none())
            .map(|p| p.name())
            .collect()
    }

    /// Their titles as a list in words ("A, B or C").
    pub fn titles(&self) -> String {
        let titles: Vec<&str> = self.iter().map(|p| p.title()).collect();
        match titles.split_last() {
            None => String::new(),
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

impl fmt::Debug for Platforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|p| p.name()))
            .finish()
    }
}
