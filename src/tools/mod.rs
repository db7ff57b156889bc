//! The tools the model sees. Each tool declares its effect in code (or, for
//! `call_endpoint`, the catalog's data decides); the model's words never do.
//!
//! Running a tool needs an [`Access`]: the registry hands out read access itself, while
//! write access needs a [`Confirmation`] that only the confirmation gate can create.
//! So the agent loop cannot run a write even by mistake: it would not type-check.

mod agency_earnings;
mod budget_admin;
mod call_endpoint;
mod catalog_tools;
pub mod chart;
pub mod files;
pub mod gate;
mod integrations;
mod skill_tools;
mod task_admin;
mod task_tools;
mod team_admin;

pub use crate::chat::{Attachment, AttachmentKind};
pub use budget_admin::NAME as SET_BUDGET;
pub use team_admin::NAME as SET_ROLE;

use crate::llm::{CallTags, ToolSpec};
use crate::onlyfans::accounts::{Account, AccountsCache, NotConnected};
use crate::onlyfans::catalog::{Catalog, Endpoint, PreparedRequest};
use crate::onlyfans::client::{ApiError, ApiResponse, OnlyFansClient};
use crate::store::{SharedStore, UsageEntry, UsageSource};
use async_trait::async_trait;
use gate::Confirmation;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("unknown tool `{0}`")]
    UnknownTool(String),
    #[error("bad arguments for `{tool}`: {message}")]
    BadArguments { tool: String, message: String },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("`{0}` changes data and was not confirmed by a person")]
    NotConfirmed(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("refused, nothing was proposed or changed: {0}")]
    NotConnected(#[from] NotConnected),
    /// A budget is spent; the text is the plain answer to pass on.
    #[error("refused: {0}")]
    BudgetSpent(#[from] crate::budget::Spent),
    #[error("refused, nothing was proposed or changed: the connected accounts could not be listed to check `{account}` ({error})")]
    AccountsUnavailable {
        account: String,
        error: Box<ToolError>,
    },
    #[error(transparent)]
    Mcp(#[from] crate::mcp::McpError),
    #[error("web search failed: {0}")]
    WebSearch(#[from] crate::web_search::WebSearchError),
}

impl From<crate::budget::BudgetError> for ToolError {
    fn from(e: crate::budget::BudgetError) -> Self {
        match e {
            crate::budget::BudgetError::Spent(spent) => ToolError::BudgetSpent(spent),
            crate::budget::BudgetError::Store(e) => ToolError::Store(e),
        }
    }
}

impl ToolError {
    /// The OnlyFansAPI key is missing or refused, here or behind an account check.
    pub fn api_key_problem(&self) -> Option<&ApiError> {
        match self {
            ToolError::Api(e) if e.is_key_problem() => Some(e),
            ToolError::AccountsUnavailable { error, .. } => error.api_key_problem(),
            _ => None,
        }
    }

    pub fn bad(tool: &str, message: impl Into<String>) -> Self {
        ToolError::BadArguments {
            tool: tool.into(),
            message: message.into(),
        }
    }
}

/// Proof of the right to run a tool call.
pub enum Access<'a> {
    Read(ReadAccess),
    Confirmed(&'a Confirmation),
}

/// Read access; only the registry creates it, and only for calls it planned as reads.
pub struct ReadAccess(());

/// What a tool call will do, decided before anything runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Read,
    /// A write, with the plain-words summary a person confirms.
    Write {
        summary: String,
    },
}

/// A call as planned: what it will do and, for a write that prepares its run up front
/// (`call_endpoint`: the OnlyFansAPI request), what it prepared, as JSON. The gate keeps
/// that with the pending action and hands it back in the [`Confirmation`], so the
/// confirmed run uses what was checked and summarised instead of preparing it again.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub plan: Plan,
    pub prepared: Option<Value>,
}

/// Everything a tool may use while it runs, tagged with who it runs for.
#[derive(Clone)]
pub struct ToolContext {
    pub client: Arc<OnlyFansClient>,
    pub accounts: Arc<AccountsCache>,
    pub store: SharedStore,
    pub tags: CallTags,
    /// Model alias of the turn, so API credits group with the model that spent them.
    pub model: Option<String>,
    /// Files attached to this turn's reply.
    pub attachments: Arc<std::sync::Mutex<Vec<Attachment>>>,
    /// Summaries of writes refused because nobody could confirm them.
    pub refused: Arc<std::sync::Mutex<Vec<String>>>,
    /// For the task tools.
    pub tasks: Option<Arc<dyn crate::tasks::TaskBook>>,
    /// The role of the person the call runs for.
    pub role: crate::chat::Role,
    /// Budgets: a tool that costs credits (a web search) calls
    /// `ctx.budgets.check(&ctx.tags).await?` first.
    pub budgets: Arc<crate::budget::Budgets>,
}

impl ToolContext {
    pub fn catalog(&self) -> &'static Catalog {
        Catalog::embedded()
    }

    /// Connected accounts (cached), recording the credits a refresh spent.
    pub async fn accounts(&self) -> Result<Arc<Vec<Account>>, ToolError> {
        let (accounts, credits) = self.accounts.get(&self.client).await?;
        if let Some(credits) = credits {
            self.record_api(crate::onlyfans::accounts::LIST_ACCOUNTS, credits)
                .await?;
        }
        Ok(accounts)
    }

    pub fn attach(&self, file: Attachment) {
        self.attachments
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(file);
    }

    pub fn refuse(&self, summary: &str) {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(summary.to_string());
    }

    pub fn take_refusals(&self) -> Vec<String> {
        std::mem::take(&mut *self.refused.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes the files attached so far.
    pub fn take_attachments(&self) -> Vec<Attachment> {
        std::mem::take(&mut *self.attachments.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records one API call's credits in the usage ledger.
    pub async fn record_api(&self, endpoint: &str, credits: f64) -> Result<(), ToolError> {
        let entry = UsageEntry {
            at: chrono::Utc::now(),
            platform: self.tags.platform.clone(),
            connection: self.tags.connection.clone(),
            user: self.tags.user.clone(),
            kind: self.tags.kind.as_str().to_string(),
            model: self.model.clone(),
            task: self.tags.task.clone(),
            conversation: self.tags.conversation.clone(),
            source: UsageSource::Api,
            endpoint: Some(endpoint.to_string()),
            api_credits: credits,
            ..UsageEntry::default()
        };
        self.store.record_usage(&entry).await?;
        Ok(())
    }

    /// Prepares a catalog request, sends it and meters it.
    pub async fn send(
        &self,
        endpoint_id: &str,
        account: Option<&str>,
        params: &serde_json::Map<String, Value>,
        idempotency_key: Option<&str>,
    ) -> Result<ApiResponse, ToolError> {
        let endpoint = self.catalog().get(endpoint_id).ok_or_else(|| {
            ToolError::bad("call_endpoint", format!("unknown endpoint `{endpoint_id}`"))
        })?;
        let request = endpoint.prepare(account, params).map_err(ApiError::from)?;
        self.send_prepared(endpoint, &request, idempotency_key)
            .await
    }

    /// Sends a request already prepared for `endpoint`, as it is, and meters it.
    pub async fn send_prepared(
        &self,
        endpoint: &Endpoint,
        request: &PreparedRequest,
        idempotency_key: Option<&str>,
    ) -> Result<ApiResponse, ToolError> {
        let response = self.client.send(endpoint, request, idempotency_key).await?;
        self.record_api(&endpoint.id, response.credits_used).await?;
        Ok(response)
    }
}

#[async_trait]
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn spec(&self) -> ToolSpec;
    /// Validates the arguments and says whether the call reads or writes.
    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError>;
    /// The plan, with what a write prepares now for its confirmed run (handed back in
    /// the [`Confirmation`]). A tool that prepares nothing ahead keeps this default.
    async fn plan_prepared(&self, args: &Value, ctx: &ToolContext) -> Result<Planned, ToolError> {
        let plan = self.plan(args, ctx).await?;
        Ok(Planned {
            plan,
            prepared: None,
        })
    }
    /// Only an admin may request it, and only an admin may confirm it.
    fn admin_only(&self) -> bool {
        false
    }
    /// Lines this tool adds to the system prompt (installed skills, connected apps).
    async fn prompt_note(&self, _ctx: &ToolContext) -> Option<String> {
        None
    }

    /// Whether the model is offered it; a tool only a command proposes (`/budget`) is not.
    fn offered(&self) -> bool {
        true
    }
    /// Runs the call. Writes must check for `Access::Confirmed`.
    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError>;
}

/// The set of tools offered to the model.
pub struct Registry {
    tools: BTreeMap<&'static str, Arc<dyn Tool>>,
    /// In the order offered, for the prompt notes.
    ordered: Vec<Arc<dyn Tool>>,
    specs: Vec<ToolSpec>,
    /// What is offered to someone who is not an admin: no admin-only tools, which they
    /// could neither request nor confirm (and whose schemas would cost every turn).
    specs_without_admin: Vec<ToolSpec>,
    /// The skills a workflow may follow.
    skills: Option<crate::skills::SharedLibrary>,
}

/// What a team connected beyond the core tools; each absent part offers no tools.
#[derive(Default, Clone)]
pub struct Integrations {
    pub skills: Option<crate::skills::SharedLibrary>,
    pub web_search: Option<Arc<crate::web_search::WebSearch>>,
    pub mcp: Option<Arc<crate::mcp::Mcp>>,
}

impl Registry {
    /// The tools of the conversation core.
    pub fn standard() -> Registry {
        Registry::with_tools(core_tools())
    }

    /// The core tools plus those of the team's skills and integrations.
    pub fn with_integrations(integrations: &Integrations) -> Registry {
        let mut tools = core_tools();
        if let Some(library) = &integrations.skills {
            tools.extend(skill_tools::all(library.clone()));
        }
        if let Some(search) = &integrations.web_search {
            tools.push(Arc::new(integrations::WebSearchTool(search.clone())));
        }
        if let Some(mcp) = integrations.mcp.as_ref().filter(|m| !m.is_empty()) {
            tools.push(Arc::new(integrations::FindTools(mcp.clone())));
            tools.push(Arc::new(integrations::CallTool(mcp.clone())));
        }
        let mut registry = Registry::with_tools(tools);
        registry.skills = integrations.skills.clone();
        registry
    }

    /// What a run of a workflow that follows `skill` adds to its prompt: the playbook.
    pub fn playbook_for_run(&self, skill: &str) -> Option<String> {
        self.skills.as_ref()?.playbook_for_run(skill)
    }

    /// What the tools add to the system prompt, in the order they are offered.
    pub async fn prompt_notes(&self, ctx: &ToolContext) -> String {
        let mut out = String::new();
        for tool in &self.ordered {
            if let Some(note) = tool.prompt_note(ctx).await {
                out.push_str(&note);
            }
        }
        out
    }

    /// The names of the tools offered.
    pub fn names(&self) -> Vec<&'static str> {
        self.ordered.iter().map(|t| t.name()).collect()
    }
}

/// The tools every team has.
fn core_tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(catalog_tools::ListAccounts),
        Arc::new(catalog_tools::FindEndpoints),
        Arc::new(call_endpoint::CallEndpoint),
        Arc::new(agency_earnings::AgencyEarnings),
        Arc::new(files::MakeCsv),
        Arc::new(chart::MakeChart),
        Arc::new(task_tools::ListTasks),
        Arc::new(task_tools::RunTask),
        Arc::new(task_admin::CreateTask),
        Arc::new(task_admin::UpdateTask),
        Arc::new(task_admin::PauseTask),
        Arc::new(task_admin::ResumeTask),
        Arc::new(task_admin::DeleteTask),
        Arc::new(budget_admin::SetBudget),
        Arc::new(team_admin::SetRole),
    ]
}

impl Registry {
    pub fn with_tools(tools: Vec<Arc<dyn Tool>>) -> Registry {
        let offered: Vec<&Arc<dyn Tool>> = tools.iter().filter(|t| t.offered()).collect();
        let specs = offered.iter().map(|t| t.spec()).collect();
        let specs_without_admin = offered
            .iter()
            .filter(|t| !t.admin_only())
            .map(|t| t.spec())
            .collect();
        Registry {
            tools: tools.iter().map(|t| (t.name(), t.clone())).collect(),
            ordered: tools,
            specs,
            specs_without_admin,
            skills: None,
        }
    }

    /// The tools offered to someone with `role`: admin-only tools only to admins.
    pub fn specs_for(&self, role: crate::chat::Role) -> &[ToolSpec] {
        match role {
            crate::chat::Role::Admin => &self.specs,
            _ => &self.specs_without_admin,
        }
    }

    /// Whether only admins may request and confirm calls of this tool.
    pub fn admin_only(&self, name: &str) -> bool {
        self.tools.get(name).is_some_and(|t| t.admin_only())
    }

    pub fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn tool(&self, name: &str) -> Result<&Arc<dyn Tool>, ToolError> {
        self.tools
            .get(name)
            .ok_or_else(|| ToolError::UnknownTool(name.to_string()))
    }

    /// What the call will do, and what a write prepared for its run. A write that names
    /// an `account` must name a connected one, so that nobody is asked to confirm a
    /// change that cannot happen.
    pub async fn plan(
        &self,
        name: &str,
        args: &Value,
        ctx: &ToolContext,
    ) -> Result<Planned, ToolError> {
        let planned = self.tool(name)?.plan_prepared(args, ctx).await?;
        let account = args.get("account").filter(|a| !a.is_null());
        if let (Plan::Write { .. }, Some(account)) = (&planned.plan, account) {
            require_connected(account, ctx).await?;
        }
        Ok(planned)
    }

    /// Runs a call only if its plan is a read.
    pub async fn run_read(
        &self,
        name: &str,
        args: &Value,
        ctx: &ToolContext,
    ) -> Result<Value, ToolError> {
        let tool = self.tool(name)?;
        match tool.plan(args, ctx).await? {
            Plan::Read => tool.run(args, ctx, Access::Read(ReadAccess(()))).await,
            Plan::Write { .. } => Err(ToolError::NotConfirmed(name.to_string())),
        }
    }

    /// Runs a confirmed write, with what it prepared when it was planned (carried by the
    /// confirmation); only the gate holds a [`Confirmation`].
    pub async fn run_confirmed(
        &self,
        name: &str,
        args: &Value,
        ctx: &ToolContext,
        confirmation: &Confirmation,
    ) -> Result<Value, ToolError> {
        self.tool(name)?
            .run(args, ctx, Access::Confirmed(confirmation))
            .await
    }
}

/// Refuses an `account` argument that is not the id of a connected account.
async fn require_connected(account: &Value, ctx: &ToolContext) -> Result<(), ToolError> {
    let named = match account {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let accounts = ctx
        .accounts()
        .await
        .map_err(|error| ToolError::AccountsUnavailable {
            account: named.clone(),
            error: Box::new(error),
        })?;
    crate::onlyfans::accounts::connected(&accounts, &named)?;
    Ok(())
}

/// Reads a required string argument.
pub(crate) fn arg_str<'a>(tool: &str, args: &'a Value, name: &str) -> Result<&'a str, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ToolError::bad(tool, format!("`{name}` is required and must be a string")))
}

/// A tool result cut to `limit` characters, with a note that says how to see the rest.
pub fn trim_result(text: String, limit: usize) -> String {
    let total = text.chars().count();
    if total <= limit {
        return text;
    }
    let cut: String = text.chars().take(limit).collect();
    format!(
        "{cut}\n[trimmed: showing {limit} of {total} characters. Ask for a shorter period, fewer rows or a narrower query to see the rest.]"
    )
}
