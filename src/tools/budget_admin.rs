//! `set_budget`: sets the team's, one user's or every user's monthly budget. A write that
//! only an admin may ask for and confirm; `/budget set …` proposes it through the gate
//! (it is not offered to the model).

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::budget::{credits, Scope};
use crate::chat::Role;
use crate::llm::ToolSpec;
use async_trait::async_trait;
use serde_json::{json, Value};

pub const NAME: &str = "set_budget";

pub struct SetBudget;

/// The validated arguments: whose budget, and the new credits a month (None: no budget).
fn args_of(args: &Value) -> Result<(Scope, Option<f64>), ToolError> {
    let scope = args
        .get("scope")
        .and_then(Value::as_str)
        .and_then(Scope::parse_key)
        .ok_or_else(|| ToolError::bad(NAME, "`scope` must be team, user:<id> or user:*"))?;
    let monthly = match args.get("monthly_credits") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                return Err(ToolError::bad(
                    NAME,
                    "`monthly_credits` must be 0 or more credits, or null for no budget",
                ))
            }
        },
    };
    Ok((scope, monthly))
}

/// "80,000 credits a month" or "no budget".
pub fn amount(monthly: Option<f64>) -> String {
    monthly.map_or("no budget".to_string(), |c| {
        format!("{} credits a month", credits(c))
    })
}

#[async_trait]
impl Tool for SetBudget {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Set a monthly credit budget (admin only, confirmed by an admin).",
            json!({
                "type": "object",
                "properties": {
                    "scope": {"type": "string", "description": "team, user:<id> or user:*"},
                    "monthly_credits": {"type": ["number", "null"]}
                },
                "required": ["scope", "monthly_credits"]
            }),
        )
    }

    fn offered(&self) -> bool {
        false
    }

    fn admin_only(&self) -> bool {
        true
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        let (scope, monthly) = args_of(args)?;
        if ctx.tags.kind.is_unattended() || ctx.role < Role::Admin {
            return Err(ToolError::Forbidden(format!(
                "only an admin can change budgets; your role is {}",
                ctx.role.as_str()
            )));
        }
        let settings = ctx.budgets.settings().await?;
        let now = settings.get(&scope).copied().flatten();
        Ok(Plan::Write {
            summary: format!(
                "Set {} to {} (now {}).",
                scope.describe(),
                amount(monthly),
                amount(now)
            ),
        })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        if !matches!(access, Access::Confirmed(_)) {
            return Err(ToolError::NotConfirmed(NAME.into()));
        }
        let (scope, monthly) = args_of(args)?;
        ctx.budgets.set(&scope, monthly, &ctx.tags.user).await?;
        let user = match &scope {
            Scope::User(id) => Some(id.as_str()),
            _ => None,
        };
        let standing = ctx.budgets.standing(user).await?;
        let line = match (&scope, &standing.user) {
            (Scope::User(_), Some((_, line))) => *line,
            _ => standing.team,
        };
        let left = match (&scope, line.left()) {
            (Scope::EveryUser, _) | (_, None) => String::new(),
            (_, Some(left)) => format!(
                " {} used this month, {} left.",
                credits(line.used),
                credits(left)
            ),
        };
        Ok(Value::String(format!(
            "Done: {} is now {}.{left}",
            scope.describe(),
            amount(monthly)
        )))
    }
}
