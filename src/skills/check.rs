//! Turning a `SKILL.md` into a [`Skill`], reporting every problem at its line: the front
//! matter's keys, the folder it lives in, and every tool and catalog endpoint it names.

use super::front_matter::{self, FrontMatter, KEYS};
use super::{Skill, CATEGORIES, DEFAULT_CATEGORY};
use crate::config::Problem;
use crate::onlyfans::catalog::Catalog;

/// The tools a skill may name (DESIGN §5); a test of the tool registry keeps this list
/// equal to the tools fanops offers.
pub const KNOWN_TOOLS: &[&str] = &[
    "list_accounts",
    "find_endpoints",
    "call_endpoint",
    "agency_earnings",
    "list_tasks",
    "run_task",
    "create_task",
    "update_task",
    "delete_task",
    "pause_task",
    "resume_task",
    "list_skills",
    "read_skill",
    "install_skill",
    "remove_skill",
    "web_search",
    "make_chart",
    "make_csv",
    "find_tools",
    "call_tool",
];

/// What `requires` may name besides an MCP server (`mcp:<name>`).
pub const REQUIREMENTS: &[&str] = &["web_search"];

/// The longest description: it is sent on every turn while the skill is installed.
const MAX_DESCRIPTION: usize = 100;

/// The longest `compatibility` the Agent Skills format allows.
const MAX_COMPATIBILITY: usize = 500;

pub(super) fn parse_skill(
    folder: &str,
    origin: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<Skill> {
    let before = problems.len();
    let mut at = |line: usize, message: String| {
        problems.push(Problem {
            origin: origin.to_string(),
            line,
            message,
        })
    };
    let fm = match front_matter::parse(text) {
        Ok(fm) => fm,
        Err((line, message)) => {
            at(line, message);
            return None;
        }
    };
    let skill = read_fields(&fm, origin, &mut at);
    check_fields(&skill, folder, &fm, &mut at);
    check_body(&fm.body, fm.body_line, &mut at);
    if fm.body.trim().is_empty() {
        at(
            fm.body_line,
            "the playbook after the front matter is empty".into(),
        );
    }
    (problems.len() == before).then_some(skill)
}

/// The front matter as a [`Skill`], with a problem for each missing or unknown key.
fn read_fields(fm: &FrontMatter, origin: &str, at: &mut dyn FnMut(usize, String)) -> Skill {
    for (key, line) in &fm.lines {
        if !KEYS.iter().any(|(known, _)| known == key) {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            at(
                *line,
                format!("unknown key `{key}` (use {})", known.join(", ")),
            );
        }
    }
    let mut required = |key: &str, value: &Option<String>| match value.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => text.to_string(),
        _ if fm.lines.contains_key(key) => {
            at(fm.line(key), format!("`{key}` is empty"));
            String::new()
        }
        _ => {
            at(1, format!("`{key}` is missing from the front matter"));
            String::new()
        }
    };
    let fields = &fm.fields;
    let name = required("name", &fields.name);
    // One line of the prompt: a folded or literal block becomes one line.
    let description = required("description", &fields.description)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let list = |items: &Option<Vec<String>>| items.clone().unwrap_or_default();
    Skill {
        name,
        description,
        category: fields
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(DEFAULT_CATEGORY)
            .to_string(),
        tags: list(&fields.tags),
        requires: list(&fields.requires),
        tools: list(&fields.tools),
        endpoints: list(&fields.endpoints),
        body: fm.body.clone(),
        origin: origin.to_string(),
    }
}

/// The values: a name matching the folder, a short description, a known category, a
/// `compatibility` within the format's limit, then [`check_names`].
fn check_fields(skill: &Skill, folder: &str, fm: &FrontMatter, at: &mut dyn FnMut(usize, String)) {
    let line = |key: &str| fm.line(key);
    let name = &skill.name;
    if !name.is_empty() {
        if !valid_name(name) {
            at(
                line("name"),
                format!("name `{name}` must be lowercase letters, digits and dashes"),
            );
        } else if name != folder {
            at(
                line("name"),
                format!("name `{name}` differs from its folder `{folder}`"),
            );
        }
    }
    if skill.description.chars().count() > MAX_DESCRIPTION {
        at(
            line("description"),
            format!("description is longer than {MAX_DESCRIPTION} characters (it is sent on every turn)"),
        );
    }
    let category = &skill.category;
    if category != DEFAULT_CATEGORY && !CATEGORIES.contains(&category.as_str()) {
        at(
            line("category"),
            format!(
                "unknown category `{category}` (use {}, or {DEFAULT_CATEGORY})",
                CATEGORIES.join(", ")
            ),
        );
    }
    let compatibility = fm.fields.compatibility.as_deref().unwrap_or_default();
    if compatibility.chars().count() > MAX_COMPATIBILITY {
        at(
            line("compatibility"),
            format!("compatibility is longer than {MAX_COMPATIBILITY} characters"),
        );
    }
    check_names(skill, fm, at);
}

/// Requirements, tools and endpoints that exist.
fn check_names(skill: &Skill, fm: &FrontMatter, at: &mut dyn FnMut(usize, String)) {
    let line = |key: &str| fm.line(key);
    for need in &skill.requires {
        if !REQUIREMENTS.contains(&need.as_str()) && !need.starts_with("mcp:") {
            at(
                line("requires"),
                format!("requires `{need}`: use `web_search` or `mcp:<server name>`"),
            );
        }
    }
    for tool in &skill.tools {
        if !KNOWN_TOOLS.contains(&tool.as_str()) && !tool.starts_with("mcp__") {
            at(line("tools"), format!("`{tool}` is not a fanops tool"));
        }
    }
    for endpoint in &skill.endpoints {
        if Catalog::embedded().get(endpoint).is_none() {
            at(
                line("endpoints"),
                format!("`{endpoint}` is not an OnlyFansAPI catalog endpoint"),
            );
        }
    }
}

/// Every `` `group/endpoint` `` named in the playbook must exist. (A playbook may name
/// an endpoint it must never call, so naming one does not require listing it.)
fn check_body(body: &str, first_line: usize, at: &mut dyn FnMut(usize, String)) {
    let catalog = Catalog::embedded();
    for (offset, line) in body.lines().enumerate() {
        for token in line.split('`').skip(1).step_by(2) {
            if !looks_like_endpoint(token) {
                continue;
            }
            let here = first_line + offset;
            if catalog.get(token).is_none() {
                at(
                    here,
                    format!("`{token}` is not an OnlyFansAPI catalog endpoint"),
                );
            }
        }
    }
}

fn looks_like_endpoint(token: &str) -> bool {
    let Some((group, id)) = token.split_once('/') else {
        return false;
    };
    let part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    part(group) && part(id)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
