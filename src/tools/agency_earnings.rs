//! `agency_earnings`: earnings of every (or the named) creator for a period, in one
//! call. The per-account requests fan out concurrently; the client keeps the whole burst
//! within `requests_per_minute` and the budget the API reports.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::llm::ToolSpec;
use crate::onlyfans::accounts::Account;
use async_trait::async_trait;
use chrono::NaiveDate;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{json, Map, Value};

pub struct AgencyEarnings;

const NAME: &str = "agency_earnings";
const ENDPOINT: &str = "statistics/get-earnings";
/// Requests in flight at once; enough for dozens of creators in a couple of rounds.
const FAN_OUT: usize = 32;

#[derive(Debug, Serialize)]
struct Row {
    account: String,
    name: String,
    net: Option<f64>,
    gross: Option<f64>,
    /// Change versus the previous period of the same length, in percent.
    change_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

struct Period {
    start: NaiveDate,
    end: NaiveDate,
}

fn period(args: &Value) -> Result<Period, ToolError> {
    let date = |name: &str| -> Result<NaiveDate, ToolError> {
        let text = super::arg_str(NAME, args, name)?;
        NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ToolError::bad(
                NAME,
                format!("`{name}` must be a date YYYY-MM-DD, got `{text}`"),
            )
        })
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    if start > end {
        return Err(ToolError::bad(
            NAME,
            format!("start_date {start} is after end_date {end}"),
        ));
    }
    Ok(Period { start, end })
}

fn requested(args: &Value) -> Result<Option<Vec<String>>, ToolError> {
    match args.get("accounts") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| ToolError::bad(NAME, "`accounts` must be a list of acct_… ids"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|ids| Some(ids).filter(|ids| !ids.is_empty())),
        Some(_) => Err(ToolError::bad(
            NAME,
            "`accounts` must be a list of acct_… ids",
        )),
    }
}

/// Accepts ids, usernames (with or without @) or display names.
fn select(all: &[Account], wanted: Option<Vec<String>>) -> Result<Vec<Account>, ToolError> {
    let Some(wanted) = wanted else {
        return Ok(all.to_vec());
    };
    wanted
        .iter()
        .map(|w| {
            let key = w.trim_start_matches('@');
            all.iter()
                .find(|a| {
                    a.id == key
                        || a.username.eq_ignore_ascii_case(key)
                        || a.display_name.eq_ignore_ascii_case(key)
                })
                .cloned()
                .ok_or_else(|| {
                    let known: Vec<_> = all.iter().map(|a| a.id.as_str()).collect();
                    ToolError::bad(
                        NAME,
                        format!(
                            "no connected account `{w}` (connected: {})",
                            known.join(", ")
                        ),
                    )
                })
        })
        .collect()
}

async fn earnings_of(ctx: &ToolContext, account: &Account, period: &Period) -> Row {
    let mut row = Row {
        account: account.id.clone(),
        name: account.label(),
        net: None,
        gross: None,
        change_pct: None,
        error: None,
    };
    if !account.is_authenticated {
        row.error = Some("the account needs to be re-authenticated in OnlyFansAPI".into());
        return row;
    }
    let mut params = Map::new();
    params.insert(
        "start_date".into(),
        json!(format!("{} 00:00:00", period.start)),
    );
    params.insert("end_date".into(), json!(format!("{} 23:59:59", period.end)));
    params.insert("type".into(), json!("total"));
    match ctx.send(ENDPOINT, Some(&account.id), &params, None).await {
        Ok(response) => {
            let total = response.data.get("total").cloned().unwrap_or(Value::Null);
            row.net = total.get("total").and_then(Value::as_f64);
            row.gross = total.get("gross").and_then(Value::as_f64);
            row.change_pct = total.get("delta").and_then(Value::as_f64);
            if row.net.is_none() {
                row.error = Some("the response had no earnings total".into());
            }
        }
        Err(e) => row.error = Some(e.to_string()),
    }
    row
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[async_trait]
impl Tool for AgencyEarnings {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Net and gross earnings (USD) for a period (dates inclusive) of all or named creators: rows and totals.",
            json!({
                "type": "object",
                "properties": {
                    "start_date": {"type": "string", "description": "YYYY-MM-DD"},
                    "end_date": {"type": "string", "description": "YYYY-MM-DD"},
                    "accounts": {"type": "array", "items": {"type": "string"}, "description": "acct_… ids; omit for all"}
                },
                "required": ["start_date", "end_date"]
            }),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        period(args)?;
        requested(args)?;
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let period = period(args)?;
        let accounts = select(&ctx.accounts().await?, requested(args)?)?;
        let period = &period;
        let mut rows: Vec<Row> = stream::iter(accounts.iter().cloned())
            .map(|account| async move { earnings_of(ctx, &account, period).await })
            .buffer_unordered(FAN_OUT)
            .collect()
            .await;
        rows.sort_by(|a, b| {
            b.net
                .unwrap_or(f64::MIN)
                .total_cmp(&a.net.unwrap_or(f64::MIN))
        });
        let ok: Vec<&Row> = rows.iter().filter(|r| r.net.is_some()).collect();
        let net: f64 = ok.iter().filter_map(|r| r.net).sum();
        let gross: f64 = ok.iter().filter_map(|r| r.gross).sum();
        Ok(json!({
            "period": {"start_date": period.start.to_string(), "end_date": period.end.to_string()},
            "currency": "USD",
            "totals": {
                "net": round2(net),
                "gross": round2(gross),
                "accounts_with_data": ok.len(),
                "accounts_failed": rows.len() - ok.len(),
            },
            "accounts": rows,
        }))
    }
}
