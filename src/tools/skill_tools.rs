//! `list_skills`, `read_skill` (reads) and `install_skill`, `remove_skill` (admin writes,
//! confirmed like any change): the team's playbooks.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::chat::Role;
use crate::llm::ToolSpec;
use crate::skills::install::{self, Target};
use crate::skills::SharedLibrary;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;

/// The four skill tools over one library.
pub fn all(library: SharedLibrary) -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(ListSkills(library.clone())),
        Arc::new(ReadSkill(library.clone())),
        Arc::new(ChangeSkills {
            library: library.clone(),
            install: true,
        }),
        Arc::new(ChangeSkills {
            library,
            install: false,
        }),
    ]
}

pub struct ListSkills(SharedLibrary);

#[async_trait]
impl Tool for ListSkills {
    fn name(&self) -> &'static str {
        "list_skills"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "All skills and bundles.",
            json!({"type": "object", "properties": {}}),
        )
    }

    async fn plan(&self, _args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        _args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let installed = ctx.store.installed_skills().await?;
        let skills: Vec<Value> = self
            .0
            .skills()
            .map(|s| {
                json!({
                    "name": s.name,
                    "category": s.category,
                    "description": s.description,
                    "installed": installed.contains(&s.name),
                    "requires": s.requires,
                })
            })
            .collect();
        let bundles: Vec<Value> = self
            .0
            .bundles()
            .map(|b| json!({"bundle": b.name, "title": b.title, "description": b.description, "skills": b.skills}))
            .collect();
        Ok(json!({"skills": skills, "bundles": bundles}))
    }

    async fn prompt_note(&self, ctx: &ToolContext) -> Option<String> {
        match install::prompt_lines(ctx.store.as_ref(), &self.0).await {
            Ok(lines) => lines,
            Err(e) => Some(format!("The installed skills could not be read: {e}\n")),
        }
    }
}

pub struct ReadSkill(SharedLibrary);

#[async_trait]
impl Tool for ReadSkill {
    fn name(&self) -> &'static str {
        "read_skill"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "A skill's playbook.",
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        let name = super::arg_str(self.name(), args, "name")?;
        Target::Skill(name.to_string())
            .skills(&self.0)
            .map_err(|e| ToolError::bad(self.name(), e))?;
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        _ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let name = super::arg_str(self.name(), args, "name")?;
        let skill = self
            .0
            .get(name)
            .ok_or_else(|| ToolError::bad(self.name(), format!("there is no skill `{name}`")))?;
        Ok(json!({"name": skill.name, "playbook": skill.body}))
    }
}

/// `install_skill` or `remove_skill`.
pub struct ChangeSkills {
    library: SharedLibrary,
    install: bool,
}

impl ChangeSkills {
    fn target(&self, args: &Value) -> Result<Target, ToolError> {
        let text = |key: &str| {
            args.get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        match (text("name"), text("bundle")) {
            (Some(name), None) => Ok(Target::Skill(name)),
            (None, Some(bundle)) => Ok(Target::Bundle(bundle)),
            _ => Err(ToolError::bad(
                self.name(),
                "give exactly one of `name` (a skill) or `bundle`",
            )),
        }
    }
}

#[async_trait]
impl Tool for ChangeSkills {
    fn name(&self) -> &'static str {
        if self.install {
            "install_skill"
        } else {
            "remove_skill"
        }
    }

    fn spec(&self) -> ToolSpec {
        let what = if self.install { "Install" } else { "Remove" };
        ToolSpec::new(
            self.name(),
            format!("{what} a skill or bundle for the team."),
            json!({"type": "object", "properties": {"name": {"type": "string"}, "bundle": {"type": "string"}}}),
        )
    }

    fn admin_only(&self) -> bool {
        true
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        if ctx.role < Role::Admin {
            return Err(ToolError::Forbidden(format!(
                "only an admin can install or remove skills; this user's role is {}. Tell them so.",
                ctx.role.as_str()
            )));
        }
        let target = self.target(args)?;
        let summary = target
            .summary(&self.library, self.install)
            .map_err(|e| ToolError::bad(self.name(), e))?;
        Ok(Plan::Write { summary })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        if !matches!(access, Access::Confirmed(_)) {
            return Err(ToolError::NotConfirmed(self.name().to_string()));
        }
        let target = self.target(args)?;
        let done = if self.install {
            install::install(
                ctx.store.as_ref(),
                &self.library,
                &target,
                &ctx.tags.user,
                chrono::Utc::now(),
            )
            .await
        } else {
            install::remove(ctx.store.as_ref(), &self.library, &target).await
        };
        let text = done.map_err(|e| match e {
            install::InstallError::Store(e) => ToolError::Store(e),
            install::InstallError::Unknown(e) => ToolError::bad(self.name(), e),
        })?;
        Ok(json!({"result": text}))
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigSource};
    use crate::skills::{Library, KNOWN_TOOLS};
    use crate::tools::{Integrations, Registry};
    use std::sync::Arc;

    /// Skills may name only the tools fanops offers; this keeps the two lists equal.
    #[tokio::test]
    async fn the_tools_skills_may_name_are_the_tools_offered() {
        let text = "[web_search]\nprovider = \"searxng\"\napi_url = \"http://127.0.0.1:9\"\n\n[[mcp]]\nname = \"sheets\"\nurl = \"http://127.0.0.1:9/mcp\"\n";
        let config = Config::load_with_env(
            ConfigSource::Text {
                origin: "t.toml".into(),
                text: text.into(),
            },
            &|_| None,
            &[],
        )
        .unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = crate::store::connect_with("sqlite::memory:", 1)
            .await
            .unwrap();
        let integrations = Integrations {
            skills: Some(Arc::new(Library::load(None).0)),
            web_search: crate::web_search::WebSearch::from_config(&config, store).map(Arc::new),
            mcp: Some(Arc::new(crate::mcp::Mcp::new(
                &config.mcp,
                &config.secrets,
                crate::health::Health::default(),
            ))),
        };
        // What the model is offered (an admin sees every tool a skill may name).
        let registry = Registry::with_integrations(&integrations);
        let mut offered: Vec<&str> = registry
            .specs_for(crate::chat::Role::Admin)
            .iter()
            .map(|spec| spec.function.name.as_str())
            .collect();
        offered.sort();
        let mut known = KNOWN_TOOLS.to_vec();
        known.sort();
        assert_eq!(offered, known);
    }
}
