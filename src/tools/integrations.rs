//! Tools that reach outside OnlyFansAPI: `web_search` (a read, billed per search), and
//! `find_tools` + `call_tool` over the connected MCP servers, whose schemas are found on
//! demand rather than sent every turn.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::llm::ToolSpec;
use crate::mcp::Mcp;
use crate::web_search::{WebSearch, MAX_COUNT};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::Arc;

pub struct WebSearchTool(pub Arc<WebSearch>);

#[async_trait]
impl Tool for WebSearchTool {
    fn name(&self) -> &'static str {
        "web_search"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Billed per search; only for outside information.",
            json!({"type": "object", "properties": {"query": {"type": "string"}, "count": {"type": "integer", "maximum": MAX_COUNT}}, "required": ["query"]}),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        super::arg_str(self.name(), args, "query")?;
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let query = super::arg_str(self.name(), args, "query")?;
        let count = args
            .get("count")
            .and_then(Value::as_u64)
            .map_or(5, |c| c as usize);
        // A search is billed like a model call: not on a spent budget.
        ctx.budgets.check(&ctx.tags).await?;
        let hits = self.0.search(query, count, &ctx.tags).await?;
        Ok(json!({"query": query, "results": hits}))
    }
}

/// Default number of tools `find_tools` returns.
const DEFAULT_LIMIT: usize = 8;

pub struct FindTools(pub Arc<Mcp>);

#[async_trait]
impl Tool for FindTools {
    fn name(&self) -> &'static str {
        "find_tools"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Search connected apps' tools by words; lists the apps.",
            json!({"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}),
        )
    }

    async fn plan(&self, _args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        _ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let query = args.get("query").and_then(Value::as_str).unwrap_or("");
        let limit = args
            .get("limit")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_LIMIT, |l| l.clamp(1, 20) as usize);
        Ok(json!({"apps": self.0.status(), "tools": self.0.find(query, limit)}))
    }

    async fn prompt_note(&self, _ctx: &ToolContext) -> Option<String> {
        let apps: Vec<String> = self
            .0
            .status()
            .into_iter()
            .map(|s| match s.connected {
                true => format!("{} ({} tools)", s.name, s.tools),
                false => format!("{} (not connected: {})", s.name, s.detail),
            })
            .collect();
        Some(format!(
            "Connected apps (MCP): {}, via find_tools and call_tool.\n",
            apps.join(", ")
        ))
    }
}

pub struct CallTool(pub Arc<Mcp>);

impl CallTool {
    fn parts<'a>(&self, args: &'a Value) -> Result<(&'a str, Value), ToolError> {
        let name = super::arg_str(self.name(), args, "name")?;
        let arguments = args.get("arguments").cloned().unwrap_or(json!({}));
        if !arguments.is_object() {
            return Err(ToolError::bad(self.name(), "`arguments` must be an object"));
        }
        Ok((name, arguments))
    }
}

#[async_trait]
impl Tool for CallTool {
    fn name(&self) -> &'static str {
        "call_tool"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Run an app tool found with find_tools.",
            json!({"type": "object", "properties": {"name": {"type": "string"}, "arguments": {"type": "object"}}, "required": ["name"]}),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        let (name, arguments) = self.parts(args)?;
        let tool = self.0.tool(name)?;
        if tool.is_read() {
            return Ok(Plan::Read);
        }
        let shown: String = arguments.to_string().chars().take(300).collect();
        Ok(Plan::Write {
            summary: format!(
                "Run `{}` on the connected app `{}` with {shown}",
                tool.tool, tool.server
            ),
        })
    }

    async fn run(
        &self,
        args: &Value,
        _ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let (name, arguments) = self.parts(args)?;
        let tool = self.0.tool(name)?;
        // The server's annotation decides, again at run time: a tool that turned into a
        // write since it was planned still needs a confirmation.
        if !tool.is_read() && !matches!(access, Access::Confirmed(_)) {
            return Err(ToolError::NotConfirmed(name.to_string()));
        }
        Ok(self.0.call(name, &arguments).await?)
    }
}
