//! `list_accounts` and `find_endpoints`: what exists, before calling anything.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::llm::ToolSpec;
use async_trait::async_trait;
use serde_json::{json, Value};

pub struct ListAccounts;

#[async_trait]
impl Tool for ListAccounts {
    fn name(&self) -> &'static str {
        "list_accounts"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Connected creator accounts and whether each is authenticated.",
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
        let accounts = ctx.accounts().await?;
        Ok(json!({ "accounts": &*accounts }))
    }
}

pub struct FindEndpoints;

const DEFAULT_LIMIT: usize = 8;

#[async_trait]
impl Tool for FindEndpoints {
    fn name(&self) -> &'static str {
        "find_endpoints"
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            self.name(),
            "Search the OnlyFansAPI catalog by words: endpoints for call_endpoint, with their params.",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "In words, e.g. 'top fans'"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20}
                },
                "required": ["query"]
            }),
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
        let limit = args
            .get("limit")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_LIMIT, |l| l.clamp(1, 20) as usize);
        let found: Vec<Value> = ctx
            .catalog()
            .search(query, limit)
            .into_iter()
            .map(|e| e.brief())
            .collect();
        Ok(json!({ "query": query, "endpoints": found }))
    }
}
