//! `call_endpoint`: one validated call of any catalog endpoint. Its effect comes from
//! the catalog entry, so a write endpoint always goes through the confirmation gate.

use super::{Access, Plan, Planned, Tool, ToolContext, ToolError};
use crate::llm::ToolSpec;
use crate::onlyfans::catalog::{Effect, Endpoint, PreparedRequest};
use crate::onlyfans::compact;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub struct CallEndpoint;

const NAME: &str = "call_endpoint";

struct Call<'a> {
    endpoint: &'static Endpoint,
    account: Option<&'a str>,
    params: Map<String, Value>,
    /// Prepared here, once: it validates the call and is what gets sent.
    request: PreparedRequest,
}

/// A write's request as kept with its pending action until a person confirms it.
#[derive(Debug, Serialize, Deserialize)]
struct KeptRequest {
    endpoint: String,
    request: PreparedRequest,
}

fn parse<'a>(args: &'a Value, ctx: &ToolContext) -> Result<Call<'a>, ToolError> {
    let catalog = ctx.catalog();
    let id = super::arg_str(NAME, args, "endpoint")?;
    let endpoint = catalog.get(id).ok_or_else(|| {
        let near = catalog.suggest(id);
        let hint = if near.is_empty() {
            "use find_endpoints to look it up".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        ToolError::bad(NAME, format!("unknown endpoint `{id}`: {hint}"))
    })?;
    let params = match args.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(ToolError::bad(
                NAME,
                "`params` must be an object of name → value",
            ))
        }
    };
    let account = args.get("account").and_then(Value::as_str);
    // Validate now, so a bad call never waits for a confirmation it cannot use.
    let request = endpoint
        .prepare(account, &params)
        .map_err(|e| ToolError::Api(e.into()))?;
    Ok(Call {
        endpoint,
        account,
        params,
        request,
    })
}

/// The endpoint and request a write kept from its proposal, read back for its run.
fn kept(
    prepared: &Value,
    ctx: &ToolContext,
) -> Result<(&'static Endpoint, PreparedRequest), ToolError> {
    let kept = KeptRequest::deserialize(prepared).map_err(|e| {
        ToolError::bad(
            NAME,
            format!("the request kept with this change cannot be read ({e})"),
        )
    })?;
    let endpoint = ctx.catalog().get(&kept.endpoint).ok_or_else(|| {
        ToolError::bad(
            NAME,
            format!(
                "the request kept with this change names an unknown endpoint `{}`",
                kept.endpoint
            ),
        )
    })?;
    Ok((endpoint, kept.request))
}

#[async_trait]
impl Tool for CallEndpoint {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Call an endpoint found with find_endpoints; writes wait for confirmation.",
            json!({
                "type": "object",
                "properties": {
                    "endpoint": {"type": "string", "description": "Catalog id, e.g. fans/list-top-fans"},
                    "account": {"type": "string", "description": "acct_… id, when the path has {account}"},
                    "params": {"type": "object", "description": "Other parameters by name"}
                },
                "required": ["endpoint"]
            }),
        )
    }

    async fn plan(&self, args: &Value, ctx: &ToolContext) -> Result<Plan, ToolError> {
        Ok(self.plan_prepared(args, ctx).await?.plan)
    }

    /// A write keeps its prepared request: the confirmed run sends it as it is.
    async fn plan_prepared(&self, args: &Value, ctx: &ToolContext) -> Result<Planned, ToolError> {
        let call = parse(args, ctx)?;
        if call.endpoint.effect == Effect::Read {
            return Ok(Planned {
                plan: Plan::Read,
                prepared: None,
            });
        }
        let label = match call.account {
            Some(id) => account_label(ctx, id).await,
            None => None,
        };
        let plan = Plan::Write {
            summary: summarize(&call, label),
        };
        let kept = KeptRequest {
            endpoint: call.endpoint.id.clone(),
            request: call.request,
        };
        let prepared = serde_json::to_value(kept)
            .map_err(|e| ToolError::bad(NAME, format!("the request cannot be kept ({e})")))?;
        Ok(Planned {
            plan,
            prepared: Some(prepared),
        })
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let (endpoint, request, key) = match access {
            Access::Confirmed(confirmation) => {
                let (endpoint, request) = match confirmation.prepared() {
                    Some(prepared) => kept(prepared, ctx)?,
                    // Proposed before requests were kept: prepared from its arguments.
                    None => parse(args, ctx).map(|call| (call.endpoint, call.request))?,
                };
                let key = (endpoint.effect == Effect::Write).then(|| confirmation.action_id());
                (endpoint, request, key)
            }
            Access::Read(_) => {
                let call = parse(args, ctx)?;
                if call.endpoint.effect == Effect::Write {
                    return Err(ToolError::NotConfirmed(call.endpoint.id.clone()));
                }
                (call.endpoint, call.request, None)
            }
        };
        let response = ctx.send_prepared(endpoint, &request, key).await?;
        let data = compact::compact(response.data);
        let mut out = json!({ "endpoint": endpoint.id, "data": data });
        if let Some(more) = response.pagination.as_ref().and_then(compact::more_pages) {
            out["more"] = json!(more);
        }
        if response.replayed {
            out["note"] = json!("OnlyFansAPI had already done this request; it was not repeated.");
        }
        Ok(out)
    }
}

async fn account_label(ctx: &ToolContext, id: &str) -> Option<String> {
    let accounts = ctx.accounts().await.ok()?;
    accounts.iter().find(|a| a.id == id).map(|a| a.label())
}

/// One line a person can judge: what, on which account, with which values, and what it
/// will do, in plain words (no parameter names with underscores, no catalog shorthand).
fn summarize(call: &Call<'_>, label: Option<String>) -> String {
    let mut out = call.endpoint.title.clone();
    if let Some(account) = call.account {
        out.push_str(&format!(
            " on {}",
            label.unwrap_or_else(|| account.to_string())
        ));
    }
    let details: Vec<String> = call
        .params
        .iter()
        .filter(|(name, _)| name.as_str() != "account")
        .map(|(name, value)| format!("{}: {}", name.replace('_', " "), short(value)))
        .collect();
    if !details.is_empty() {
        out.push_str(&format!(" — {}", details.join(", ")));
    }
    if let Some(warning) = call.endpoint.notes.as_deref().and_then(shouted_warning) {
        out.push_str(&format!(". {}", consequence(&warning, &call.params)));
    }
    out
}

/// The catalog marks dangerous effects with a leading upper-case sentence
/// ("SENDS A MESSAGE TO A FAN (PPV if price>0)"); its words, without the shorthand.
fn shouted_warning(notes: &str) -> Option<String> {
    let first = notes.split(". ").next()?.trim_end_matches('.');
    let letters: Vec<char> = first.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    let plain = match first.split_once('(') {
        Some((words, _)) => words.trim(),
        None => first.trim(),
    };
    (letters.len() >= 6 && upper * 10 >= letters.len() * 7).then(|| plain.to_lowercase())
}

/// "This sends a message to a fan", and what a price in the request makes of it.
fn consequence(warning: &str, params: &Map<String, Value>) -> String {
    let price = params.get("price").and_then(|p| match p {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    match price {
        Some(price) if price > 0.0 => {
            format!("This {warning}, as paid content (PPV) at ${price:.2}.")
        }
        _ => format!("This {warning}."),
    }
}

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_come_from_shouted_notes_in_plain_words() {
        let warning = shouted_warning(
            "SENDS A MESSAGE TO A FAN (PPV if price>0). Supports an Idempotency-Key",
        )
        .unwrap();
        assert_eq!(warning, "sends a message to a fan");
        let free = Map::new();
        assert_eq!(
            consequence(&warning, &free),
            "This sends a message to a fan."
        );
        let paid = json!({"price": 9.5});
        assert_eq!(
            consequence(&warning, paid.as_object().unwrap()),
            "This sends a message to a fan, as paid content (PPV) at $9.50."
        );
        assert_eq!(
            shouted_warning("Response data = the created message."),
            None
        );
    }
}
