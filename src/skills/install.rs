//! Installing and removing skills for the team, singly or by bundle; shared by the chat
//! tools and `fanops skills`, so both say the same thing.

use super::Library;
use crate::store::{SkillStore, StoreError};
use chrono::{DateTime, Utc};

/// What to install or remove.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Skill(String),
    Bundle(String),
}

impl Target {
    /// The skills it stands for, or why it names nothing.
    pub fn skills(&self, library: &Library) -> Result<Vec<String>, String> {
        match self {
            Target::Skill(name) => match library.get(name) {
                Some(skill) => Ok(vec![skill.name.clone()]),
                None => Err(format!(
                    "there is no skill `{name}` (available: {})",
                    library.names().join(", ")
                )),
            },
            Target::Bundle(name) => match library.bundle(name) {
                Some(bundle) => Ok(bundle.skills.clone()),
                None => {
                    let names: Vec<&str> = library.bundles().map(|b| b.name.as_str()).collect();
                    Err(format!(
                        "there is no bundle `{name}` (available: {})",
                        names.join(", ")
                    ))
                }
            },
        }
    }

    /// The plain-words summary a person confirms.
    pub fn summary(&self, library: &Library, install: bool) -> Result<String, String> {
        let skills = self.skills(library)?;
        Ok(match (self, install) {
            (Target::Skill(name), true) => {
                let skill = library.get(name).map_or("", |s| s.description.as_str());
                format!("Install the skill `{name}` for the whole team: {skill}")
            }
            (Target::Skill(name), false) => {
                format!("Remove the skill `{name}` for the whole team")
            }
            (Target::Bundle(name), true) => format!(
                "Install the bundle `{name}` for the whole team: {}",
                skills.join(", ")
            ),
            (Target::Bundle(name), false) => format!(
                "Remove the bundle `{name}` for the whole team. This removes every skill in it, including ones also installed on their own: {}",
                skills.join(", ")
            ),
        })
    }
}

/// Installs a skill or a bundle; returns a sentence saying what changed.
pub async fn install(
    store: &dyn SkillStore,
    library: &Library,
    target: &Target,
    by: &str,
    now: DateTime<Utc>,
) -> Result<String, InstallError> {
    let skills = target.skills(library).map_err(InstallError::Unknown)?;
    let added = store.install_skills(&skills, by, now).await?;
    let already: Vec<&String> = skills.iter().filter(|s| !added.contains(s)).collect();
    let mut out = match added.is_empty() {
        true => "Nothing new was installed".to_string(),
        false => format!("Installed {}", added.join(", ")),
    };
    if !already.is_empty() {
        let names: Vec<&str> = already.iter().map(|s| s.as_str()).collect();
        out.push_str(&format!(" (already installed: {})", names.join(", ")));
    }
    out.push('.');
    Ok(out)
}

/// Removes a skill or every skill of a bundle; returns a sentence saying what changed.
pub async fn remove(
    store: &dyn SkillStore,
    library: &Library,
    target: &Target,
) -> Result<String, InstallError> {
    let skills = target.skills(library).map_err(InstallError::Unknown)?;
    let removed = store.remove_skills(&skills).await?;
    Ok(match removed.is_empty() {
        true => "Nothing was removed: none of those skills was installed.".to_string(),
        false => format!("Removed {}.", removed.join(", ")),
    })
}

/// The installed skills that exist (a skill removed from `[skills] dir` is skipped).
pub async fn installed<'a>(
    store: &dyn SkillStore,
    library: &'a Library,
) -> Result<Vec<&'a super::Skill>, StoreError> {
    let names = store.installed_skills().await?;
    Ok(names.iter().filter_map(|n| library.get(n)).collect())
}

/// The system-prompt lines of the installed skills: one per skill, name and description.
pub async fn prompt_lines(
    store: &dyn SkillStore,
    library: &Library,
) -> Result<Option<String>, StoreError> {
    let skills = installed(store, library).await?;
    if skills.is_empty() {
        return Ok(None);
    }
    let mut out = String::from("Skills (if one fits, read_skill it first and follow it):\n");
    for skill in skills {
        out.push_str(&format!("- {}: {}\n", skill.name, skill.description));
    }
    Ok(Some(out))
}

/// Applies `[skills] installed` on the team's first start only.
pub async fn seed(
    store: &dyn SkillStore,
    library: &Library,
    names: &[String],
    now: DateTime<Utc>,
) -> Result<(), InstallError> {
    for name in names {
        Target::Skill(name.clone())
            .skills(library)
            .map_err(InstallError::Unknown)?;
    }
    store.seed_skills(names, now).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
