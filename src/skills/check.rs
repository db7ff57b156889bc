//! Turning a `SKILL.md` into a [`Skill`], reporting every problem at its line: the front
//! matter's keys, the folder it lives in, and every tool and catalog endpoint it names.

use super::front_matter::{self, Entry, FrontMatter, Value};
use super::{Skill, CATEGORIES};
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

const KEYS: &[&str] = &[
    "name",
    "description",
    "category",
    "tags",
    "requires",
    "tools",
    "endpoints",
];

/// The longest description: it is sent on every turn while the skill is installed.
const MAX_DESCRIPTION: usize = 100;

pub(super) fn parse_skill(
    folder: &str,
    origin: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<Skill> {
    let before = problems.len();
    let (fm, found) = front_matter::parse(text);
    let mut at = |line: usize, message: String| {
        problems.push(Problem {
            origin: origin.to_string(),
            line,
            message,
        })
    };
    for (line, message) in found {
        at(line, message);
    }
    if fm.body_line == 0 {
        return None;
    }
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

/// The front matter as a [`Skill`], with a problem for each missing, unknown or
/// wrongly shaped key.
fn read_fields(fm: &FrontMatter, origin: &str, at: &mut dyn FnMut(usize, String)) -> Skill {
    for (key, entry) in &fm.entries {
        if !KEYS.contains(&key.as_str()) {
            at(
                entry.line,
                format!("unknown key `{key}` (use {})", KEYS.join(", ")),
            );
        }
    }
    let mut text_of = |key: &str| match fm.entries.get(key) {
        Some(Entry {
            value: Value::Text(t),
            ..
        }) => t.clone(),
        Some(Entry { line, .. }) => {
            at(
                *line,
                format!("`{key}` must be one line of text, not a list"),
            );
            String::new()
        }
        None => {
            at(1, format!("`{key}` is missing from the front matter"));
            String::new()
        }
    };
    let (name, description, category) =
        (text_of("name"), text_of("description"), text_of("category"));
    let mut list_of = |key: &str| match fm.entries.get(key) {
        Some(Entry {
            value: Value::List(items),
            ..
        }) => items.clone(),
        Some(Entry { line, .. }) => {
            at(
                *line,
                format!("`{key}` must be a list, e.g. `{key}: [a, b]`"),
            );
            Vec::new()
        }
        None => Vec::new(),
    };
    Skill {
        name,
        description,
        category,
        tags: list_of("tags"),
        requires: list_of("requires"),
        tools: list_of("tools"),
        endpoints: list_of("endpoints"),
        body: fm.body.clone(),
        origin: origin.to_string(),
    }
}

/// The values: a name matching the folder, a short description, a known category,
/// requirements, tools and endpoints that exist.
fn check_fields(skill: &Skill, folder: &str, fm: &FrontMatter, at: &mut dyn FnMut(usize, String)) {
    let line = |key: &str| fm.entries.get(key).map_or(1, |e| e.line);
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
    if !category.is_empty() && !CATEGORIES.contains(&category.as_str()) {
        at(
            line("category"),
            format!(
                "unknown category `{category}` (use {})",
                CATEGORIES.join(", ")
            ),
        );
    }
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
