//! Skills: playbooks in Markdown that teach the assistant one job, shipped in the
//! repository's `skills/` folder (embedded in the binary) and in `[skills] dir`, grouped
//! into bundles by `skills/bundles.toml`. What the team installed lives in the store
//! ([`crate::store::SkillStore`]); this module knows what exists and checks it.

mod check;
pub mod front_matter;
pub mod install;

pub use check::{KNOWN_TOOLS, REQUIREMENTS};

use crate::config::Problem;
use include_dir::{include_dir, Dir};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// The skills shipped with fanops.
static BUILT_IN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/skills");

/// The categories of the skill directory.
pub const CATEGORIES: &[&str] = &[
    "Analytics",
    "Coaching",
    "Engagement",
    "Fans",
    "Messaging",
    "Portfolio",
];

/// The category of a skill whose front matter names none (one written for another
/// Agent Skills tool, say).
pub const DEFAULT_CATEGORY: &str = "Other";

/// One playbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skill {
    pub name: String,
    pub description: String,
    pub category: String,
    pub tags: Vec<String>,
    /// What must be configured for it to work: `web_search`, or an MCP server's name.
    pub requires: Vec<String>,
    /// The tools it uses (contract names).
    pub tools: Vec<String>,
    /// The OnlyFansAPI catalog endpoints it calls.
    pub endpoints: Vec<String>,
    /// The playbook itself, in Markdown.
    #[serde(skip)]
    pub body: String,
    /// `built-in:skills/<name>/SKILL.md` or the file's path.
    pub origin: String,
}

/// Several skills installed and removed together.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    #[serde(skip_deserializing)]
    pub name: String,
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BundlesFile {
    #[serde(default)]
    bundles: BTreeMap<String, Bundle>,
}

/// Every skill and bundle that exists (installed or not).
#[derive(Debug, Default)]
pub struct Library {
    skills: BTreeMap<String, Skill>,
    bundles: BTreeMap<String, Bundle>,
}

pub type SharedLibrary = Arc<Library>;

impl Library {
    /// The built-in skills plus those of `dir` (a folder of `<name>/SKILL.md`, with an
    /// optional `bundles.toml`); a skill in `dir` with a built-in's name replaces it.
    /// Returns what loaded and every problem found, each at its `file:line`.
    pub fn load(dir: Option<&Path>) -> (Library, Vec<Problem>) {
        let mut library = Library::default();
        let mut problems = Vec::new();
        let mut bundle_files = Vec::new();
        for entry in BUILT_IN.dirs() {
            let name = entry.path().display().to_string();
            if let Some(file) = entry.get_file(entry.path().join("SKILL.md")) {
                let origin = format!("built-in:skills/{name}/SKILL.md");
                let text = file.contents_utf8().unwrap_or_default();
                library.add(&name, &origin, text, &mut problems);
            }
        }
        if let Some(file) = BUILT_IN.get_file("bundles.toml") {
            let text = file.contents_utf8().unwrap_or_default().to_string();
            bundle_files.push(("built-in:skills/bundles.toml".to_string(), text));
        }
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            library.load_dir(dir, &mut bundle_files, &mut problems);
        }
        for (origin, text) in bundle_files {
            library.add_bundles(&origin, &text, &mut problems);
        }
        (library, problems)
    }

    /// [`Library::load`] of the built-in skills and `[skills] dir`.
    pub fn for_config(config: &crate::config::Config) -> (Library, Vec<Problem>) {
        let dir = config.skills.dir.as_deref().map(Path::new);
        Library::load(dir)
    }

    fn load_dir(
        &mut self,
        dir: &Path,
        bundle_files: &mut Vec<(String, String)>,
        problems: &mut Vec<Problem>,
    ) {
        let unreadable = |origin: &Path, e: std::io::Error| Problem {
            origin: origin.display().to_string(),
            line: 0,
            message: format!("cannot read: {e}"),
        };
        let mut folders: Vec<_> = match std::fs::read_dir(dir) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path()).collect(),
            Err(e) => return problems.push(unreadable(dir, e)),
        };
        folders.sort();
        for folder in folders {
            let file = folder.join("SKILL.md");
            if !file.is_file() {
                continue;
            }
            let name = folder
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            match std::fs::read_to_string(&file) {
                Ok(text) => self.add(&name, &file.display().to_string(), &text, problems),
                Err(e) => problems.push(unreadable(&file, e)),
            }
        }
        let bundles = dir.join("bundles.toml");
        if bundles.is_file() {
            match std::fs::read_to_string(&bundles) {
                Ok(text) => bundle_files.push((bundles.display().to_string(), text)),
                Err(e) => problems.push(unreadable(&bundles, e)),
            }
        }
    }

    fn add(&mut self, folder: &str, origin: &str, text: &str, problems: &mut Vec<Problem>) {
        if let Some(skill) = check::parse_skill(folder, origin, text, problems) {
            self.skills.insert(skill.name.clone(), skill);
        }
    }

    fn add_bundles(&mut self, origin: &str, text: &str, problems: &mut Vec<Problem>) {
        let Some(file) = crate::config::parse_toml::<BundlesFile>(origin, text, problems) else {
            return;
        };
        let locator = crate::config::Locator::new(text);
        for (name, mut bundle) in file.bundles {
            let line = locator.line_of(&crate::config::path(&["bundles", &name, "skills"]));
            for skill in &bundle.skills {
                if !self.skills.contains_key(skill) {
                    problems.push(Problem {
                        origin: origin.to_string(),
                        line,
                        message: format!("bundle `{name}` names `{skill}`, which is not a skill"),
                    });
                }
            }
            if bundle.skills.is_empty() {
                problems.push(Problem {
                    origin: origin.to_string(),
                    line,
                    message: format!("bundle `{name}` has no skills"),
                });
            }
            bundle.name = name.clone();
            self.bundles.insert(name, bundle);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Skill> {
        self.skills.get(name)
    }

    pub fn skills(&self) -> impl Iterator<Item = &Skill> {
        self.skills.values()
    }

    pub fn names(&self) -> Vec<String> {
        self.skills.keys().cloned().collect()
    }

    pub fn bundle(&self, name: &str) -> Option<&Bundle> {
        self.bundles.get(name)
    }

    pub fn bundles(&self) -> impl Iterator<Item = &Bundle> {
        self.bundles.values()
    }

    /// The bundles a skill belongs to.
    pub fn bundles_of(&self, skill: &str) -> Vec<&str> {
        self.bundles
            .values()
            .filter(|b| b.skills.iter().any(|s| s == skill))
            .map(|b| b.name.as_str())
            .collect()
    }

    /// What a workflow that follows `skill` adds to its run's prompt.
    pub fn playbook_for_run(&self, skill: &str) -> Option<String> {
        self.get(skill).map(|s| {
            format!(
                "\n\nFollow the skill `{}` for this run. Its playbook:\n\n{}",
                s.name, s.body
            )
        })
    }
}

#[cfg(test)]
mod tests;
