//! Config sections of features this build does not have. Such a section is accepted (one
//! file can serve several builds) and read like any other, unknown keys in it excepted,
//! but nothing runs it: it is warned about at its line, so nobody believes a feature is
//! on when it is not.

use super::locate::{path, Locator, PathPart};
use super::Warning;

/// One feature this build lacks and the section that would configure it.
struct Unbuilt {
    keys: &'static [&'static str],
    /// How the section is written in the file.
    label: &'static str,
    feature: &'static str,
    why: Why,
}

enum Why {
    /// Built only with this cargo feature.
    #[cfg_attr(feature = "telegram", allow(dead_code))] // unused while every feature is on
    CargoFeature(&'static str),
    /// Not part of fanops yet.
    NotYet,
}

/// When a feature lands, its line goes.
const UNBUILT: &[Unbuilt] = &[
    #[cfg(not(feature = "telegram"))]
    Unbuilt {
        keys: &["channels", "telegram"],
        label: "[channels.telegram]",
        feature: "Telegram support",
        why: Why::CargoFeature("telegram"),
    },
    Unbuilt {
        keys: &["channels", "slack"],
        label: "[channels.slack]",
        feature: "Slack support",
        why: Why::NotYet,
    },
    Unbuilt {
        keys: &["channels", "discord"],
        label: "[channels.discord]",
        feature: "Discord support",
        why: Why::NotYet,
    },
    Unbuilt {
        keys: &["events"],
        label: "[events.*]",
        feature: "real-time events (webhooks and relays)",
        why: Why::NotYet,
    },
    Unbuilt {
        keys: &["skills"],
        label: "[skills]",
        feature: "skills",
        why: Why::NotYet,
    },
    Unbuilt {
        keys: &["mcp"],
        label: "[[mcp]]",
        feature: "MCP servers",
        why: Why::NotYet,
    },
    Unbuilt {
        keys: &["web_search"],
        label: "[web_search]",
        feature: "web search",
        why: Why::NotYet,
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
        let (label, feature) = (unbuilt.label, unbuilt.feature);
        let message = match unbuilt.why {
            Why::CargoFeature(flag) => format!(
                "{label} is ignored: this build has no {feature} (build with the cargo feature `{flag}`)"
            ),
            Why::NotYet => format!("{label} is ignored: fanops has no {feature} yet"),
        };
        warnings.push(Warning {
            origin: Some(origin.to_string()),
            line,
            message,
        });
        sections.push(keys);
    }
    (sections, warnings)
}
