//! `fanops skills list|install|remove`: the team's skills from the command line, with
//! the same store and the same wording as the chat tools.

use crate::app;
use crate::config::Config;
use crate::skills::install::{self, Target};
use crate::skills::Library;
use serde_json::json;

/// What `fanops skills` was asked to do.
pub enum SkillsCommand {
    List { json: bool },
    Install(Target),
    Remove(Target),
}

impl SkillsCommand {
    /// A skill name or `--bundle NAME`, exactly one of them.
    pub fn target(name: Option<String>, bundle: Option<String>) -> anyhow::Result<Target> {
        match (name, bundle) {
            (Some(name), None) => Ok(Target::Skill(name)),
            (None, Some(bundle)) => Ok(Target::Bundle(bundle)),
            _ => anyhow::bail!("name one skill, or a bundle with --bundle NAME"),
        }
    }
}

pub async fn skills(config: Config, command: SkillsCommand) -> anyhow::Result<()> {
    let (library, problems) = Library::for_config(&config);
    if !problems.is_empty() {
        let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        anyhow::bail!("the skill files have problems:\n{}", listed.join("\n"));
    }
    app::install_tls_provider();
    let store = app::open_store(&config).await?;
    let now = chrono::Utc::now();
    install::seed(store.as_ref(), &library, &config.skills.installed, now).await?;
    match command {
        SkillsCommand::List { json } => {
            let installed = store.installed_skills().await?;
            match json {
                true => println!("{}", render_json(&library, &installed)),
                false => print!("{}", render_table(&library, &installed)),
            }
        }
        SkillsCommand::Install(target) => {
            println!(
                "{}",
                install::install(store.as_ref(), &library, &target, "cli", now).await?
            );
        }
        SkillsCommand::Remove(target) => {
            if let Target::Bundle(_) = target {
                println!(
                    "{}",
                    target
                        .summary(&library, false)
                        .map_err(anyhow::Error::msg)?
                );
            }
            println!(
                "{}",
                install::remove(store.as_ref(), &library, &target).await?
            );
        }
    }
    Ok(())
}

/// One line per skill: name, category, `installed` or `available`, description; then
/// the bundles.
pub fn render_table(library: &Library, installed: &[String]) -> String {
    let width = library.skills().map(|s| s.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for skill in library.skills() {
        let state = match installed.contains(&skill.name) {
            true => "installed",
            false => "available",
        };
        out.push_str(&format!(
            "{:width$}  {:10}  {:9}  {}\n",
            skill.name, skill.category, state, skill.description
        ));
    }
    let bundles: Vec<String> = library
        .bundles()
        .map(|b| format!("  {} ({}): {}", b.name, b.title, b.skills.join(", ")))
        .collect();
    if !bundles.is_empty() {
        out.push_str(&format!("\nBundles:\n{}\n", bundles.join("\n")));
    }
    out
}

pub fn render_json(library: &Library, installed: &[String]) -> serde_json::Value {
    let skills: Vec<serde_json::Value> = library
        .skills()
        .map(|s| {
            let mut value = serde_json::to_value(s).unwrap_or_default();
            value["installed"] = json!(installed.contains(&s.name));
            value
        })
        .collect();
    let bundles: Vec<&crate::skills::Bundle> = library.bundles().collect();
    json!({"skills": skills, "bundles": bundles})
}
