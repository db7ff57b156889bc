//! Config sections of features this build does not have. Such a section is accepted (one
//! file can serve several builds) and read like any other, unknown keys in it excepted,
//! but nothing runs it: it is warned about at its line, so nobody believes a feature is
//! on when it is not.

use super::locate::{path, Locator, PathPart};
use super::Warning;

/// One cargo feature this build lacks and the section that would configure it.
#[cfg_attr(
    all(feature = "telegram", feature = "slack", feature = "discord"),
    allow(dead_code)
)] // never built while every feature is on
struct Unbuilt {
    keys: &'static [&'static str],
    /// How the section is written in the file.
    label: &'static str,
    feature: &'static str,
    /// The cargo feature that builds it.
    flag: &'static str,
}

const UNBUILT: &[Unbuilt] = &[
    #[cfg(not(feature = "telegram"))]
    Unbuilt {
        keys: &["channels", "telegram"],
        label: "[channels.telegram]",
        feature: "Telegram support",
        flag: "telegram",
    },
    #[cfg(not(feature = "slack"))]
    Unbuilt {
        keys: &["channels", "slack"],
        label: "[channels.slack]",
        feature: "Slack support",
        flag: "slack",
    },
    #[cfg(not(feature = "discord"))]
    Unbuilt {
        keys: &["channels", "discord"],
        label: "[channels.discord]",
        feature: "Discord support",
        flag: "discord",
    },
];

/// The unbuilt sections present in the file: their key paths (whose unknown keys go
/// unreported) and a warning for each.
pub(super) fn find(origin: &str, locator: &Locator) -> (Vec<Vec<PathPart>>, Vec<Warning>) {
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    for unbuilt in UNBUILT {
        let keys = path(unbuilt.keys);
        let Some(line) = locator.line_if_present(&keys) else {
            continue;
        };
        warnings.push(Warning {
            origin: Some(origin.to_string()),
            line,
            message: format!(
                "{} is ignored: this build has no {} (build with the cargo feature `{}`)",
                unbuilt.label, unbuilt.feature, unbuilt.flag
            ),
        });
        sections.push(keys);
    }
    (sections, warnings)
}
