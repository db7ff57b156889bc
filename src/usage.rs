//! Usage reports over the ledger: by model, platform, connection, kind, user or day, for a period,
//! as a table, CSV or JSON; the latest rows (activity), the ledger as CSV, and credits
//! over time as a chart ([`chart`]).

pub mod chart;
mod period;

pub use period::{Period, MAX_YEARS};

use crate::store::{StoreError, UsageDimension, UsageEntry, UsageLedger, UsageRow};
use chrono::Utc;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

pub fn parse_dimension(text: &str) -> Result<UsageDimension, String> {
    match text {
        "model" => Ok(UsageDimension::Model),
        "platform" => Ok(UsageDimension::Platform),
        "connection" => Ok(UsageDimension::Connection),
        "kind" => Ok(UsageDimension::Kind),
        "user" => Ok(UsageDimension::User),
        "day" => Ok(UsageDimension::Day),
        other => Err(format!(
            "cannot group by `{other}`: use model, platform, connection, kind, user or day"
        )),
    }
}

pub fn dimension_name(by: UsageDimension) -> &'static str {
    match by {
        UsageDimension::Model => "model",
        UsageDimension::Platform => "platform",
        UsageDimension::Connection => "connection",
        UsageDimension::Kind => "kind",
        UsageDimension::User => "user",
        UsageDimension::Day => "day",
    }
}

pub async fn report(
    ledger: &dyn UsageLedger,
    period: Period,
    by: UsageDimension,
) -> Result<Vec<UsageRow>, StoreError> {
    ledger.usage_report(period.since(Utc::now()), by).await
}

const HEADERS: [&str; 8] = [
    "model calls",
    "API calls",
    "prompt tok",
    "completion tok",
    "cached tok",
    "credits",
    "cost USD",
    "API credits",
];

/// Follows a figure that includes estimated calls (their provider sent no usage).
const ESTIMATED: &str = "~";

fn cells(row: &UsageRow) -> [String; 8] {
    let mark = if row.estimated_calls > 0 {
        ESTIMATED
    } else {
        ""
    };
    [
        row.model_calls.to_string(),
        row.api_calls.to_string(),
        format!("{}{mark}", row.prompt_tokens),
        format!("{}{mark}", row.completion_tokens),
        row.cached_tokens.to_string(),
        format!("{:.2}{mark}", row.credits),
        format!("{:.4}{mark}", row.cost_usd),
        format!("{:.0}", row.api_credits),
    ]
}

/// The line under a table that says how much of it is estimated, if any is.
fn estimated_note(total: &UsageRow) -> Option<String> {
    (total.estimated_calls > 0).then(|| {
        format!(
            "{ESTIMATED} estimated: {} of {} model calls came from a provider that sends no token usage; \
             their tokens were counted by fanops and their cost follows from that count.",
            total.estimated_calls, total.model_calls
        )
    })
}

fn total(rows: &[UsageRow]) -> UsageRow {
    rows.iter().fold(
        UsageRow {
            key: "total".into(),
            ..UsageRow::default()
        },
        |mut t, r| {
            t.model_calls += r.model_calls;
            t.api_calls += r.api_calls;
            t.prompt_tokens += r.prompt_tokens;
            t.completion_tokens += r.completion_tokens;
            t.cached_tokens += r.cached_tokens;
            t.credits += r.credits;
            t.cost_usd += r.cost_usd;
            t.api_credits += r.api_credits;
            t.estimated_calls += r.estimated_calls;
            t
        },
    )
}

/// A terminal table with a total row, and a note when some figures are estimated.
pub fn render_table(rows: &[UsageRow], by: UsageDimension) -> String {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec![dimension_name(by).to_string()];
    header.extend(HEADERS.iter().map(|h| h.to_string()));
    table.set_header(header);
    let total = total(rows);
    for row in rows.iter().chain(std::iter::once(&total)) {
        let mut line = vec![Cell::new(&row.key)];
        line.extend(
            cells(row)
                .into_iter()
                .map(|c| Cell::new(c).set_alignment(CellAlignment::Right)),
        );
        table.add_row(line);
    }
    match estimated_note(&total) {
        Some(note) => format!("{table}\n{note}"),
        None => table.to_string(),
    }
}

/// A Markdown table for chat, compact: the columns a person reads.
pub fn render_markdown(rows: &[UsageRow], by: UsageDimension, period: Period) -> String {
    if rows.is_empty() {
        return format!("No usage recorded ({}).", period.label());
    }
    let mut out = format!(
        "Usage, {}:\n\n| {} | model calls | credits | cost USD | API credits |\n|---|---:|---:|---:|---:|\n",
        period.label(),
        dimension_name(by)
    );
    let total = total(rows);
    for row in rows.iter().chain(std::iter::once(&total)) {
        let mark = if row.estimated_calls > 0 {
            ESTIMATED
        } else {
            ""
        };
        out.push_str(&format!(
            "| {} | {} | {:.2}{mark} | {:.4}{mark} | {:.0} |\n",
            row.key, row.model_calls, row.credits, row.cost_usd, row.api_credits
        ));
    }
    if let Some(note) = estimated_note(&total) {
        out.push_str(&format!("\n{note}\n"));
    }
    out
}

/// CSV with plain numbers; the last column counts the estimated model calls.
pub fn render_csv(rows: &[UsageRow], by: UsageDimension) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![dimension_name(by)];
    header.extend(HEADERS);
    header.push("estimated calls");
    writer.write_record(header)?;
    for row in rows {
        let plain = UsageRow {
            estimated_calls: 0,
            ..row.clone()
        };
        let mut record = vec![row.key.clone()];
        record.extend(cells(&plain));
        record.push(row.estimated_calls.to_string());
        writer.write_record(record)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn render_json(rows: &[UsageRow], by: UsageDimension, period: Period) -> String {
    serde_json::json!({
        "period": period.label(),
        "by": dimension_name(by),
        "rows": rows,
        "total": total(rows),
    })
    .to_string()
}

/// `50,000`, or `12.34` below 100 credits.
pub fn credits(value: f64) -> String {
    if value.abs() < 100.0 && value.fract() != 0.0 {
        return format!("{value:.2}");
    }
    let whole = value.round() as i64;
    let digits = whole.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// What `/usage …` in chat asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UsageRequest {
    /// A table by `by` (the default: 30 days by model).
    Table(Period, UsageDimension),
    /// Credits over time, stacked by `by`.
    Chart(Period, UsageDimension),
    /// The latest charged rows.
    Activity(Period),
    /// The ledger's rows as a CSV file.
    Csv(Period),
}

/// Reads the words after `/usage`: an optional `chart`, `activity` or `csv`, a period
/// (`today`, `7d`, `30d`, `6m`, `1y`, `all`) and a dimension (`model`, `platform`,
/// `kind`, `user`, optionally after `by`), in any order.
pub fn parse_request(words: &str) -> Result<UsageRequest, String> {
    let mut verb = None;
    let mut period = Period::Days(30);
    let mut by = UsageDimension::Model;
    for word in words.split_whitespace().map(str::to_ascii_lowercase) {
        match word.as_str() {
            "by" | "per" => {}
            "chart" | "activity" | "csv" | "table" => verb = Some(word),
            w if parse_dimension(w).is_ok() => by = parse_dimension(w)?,
            w => {
                period = Period::parse(w).map_err(|why| {
                    if why.starts_with("the period") {
                        // A period, but too long or empty: say which.
                        return why;
                    }
                    format!(
                        "I don't understand `{w}`. Try /usage, /usage 7d by platform, /usage chart 30d by kind, /usage activity or /usage csv."
                    )
                })?
            }
        }
    }
    Ok(match verb.as_deref() {
        Some("chart") => {
            chart::check_dimension(by)?;
            UsageRequest::Chart(period, by)
        }
        Some("activity") => UsageRequest::Activity(period),
        Some("csv") => UsageRequest::Csv(period),
        _ => UsageRequest::Table(period, by),
    })
}

/// The latest charged rows as a Markdown table (time in `tz`).
pub fn render_activity(rows: &[UsageEntry], period: Period, tz: chrono_tz::Tz) -> String {
    if rows.is_empty() {
        return format!("No activity recorded ({}).", period.label());
    }
    let mut out = format!(
        "Latest activity, {}:\n\n| time | platform | model | user | kind | credits | cost USD |\n|---|---|---|---|---|---:|---:|\n",
        period.label()
    );
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.4} |\n",
            row.at.with_timezone(&tz).format("%d %b %H:%M"),
            cell(&row.platform),
            cell(row.model.as_deref().unwrap_or("-")),
            cell(&row.user),
            cell(&row.kind),
            row.credits,
            row.cost_usd
        ));
    }
    out
}

/// A value safe inside a Markdown table cell (user ids and names come from platforms).
fn cell(text: &str) -> String {
    text.replace(['|', '\n', '\r'], " ")
}

/// Every ledger row as CSV, oldest first, with plain numbers.
pub fn render_ledger_csv(rows: &[UsageEntry]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "time_utc",
        "platform",
        "user",
        "kind",
        "model",
        "task",
        "source",
        "endpoint",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "credits",
        "cost_usd",
        "api_credits",
        "estimated",
    ])?;
    for row in rows.iter().rev() {
        writer.write_record([
            row.at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            row.platform.clone(),
            row.user.clone(),
            row.kind.clone(),
            row.model.clone().unwrap_or_default(),
            row.task.clone().unwrap_or_default(),
            row.source.as_str().to_string(),
            row.endpoint.clone().unwrap_or_default(),
            row.prompt_tokens.to_string(),
            row.completion_tokens.to_string(),
            row.cached_tokens.to_string(),
            format!("{:.6}", row.credits),
            format!("{:.6}", row.cost_usd),
            format!("{}", row.api_credits),
            row.estimated.to_string(),
        ])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Rows a CSV export holds at most.
pub const MAX_EXPORT_ROWS: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_read_like_money() {
        assert_eq!(credits(50_000.0), "50,000");
        assert_eq!(credits(1_234_567.4), "1,234,567");
        assert_eq!(credits(12.345), "12.35");
        assert_eq!(credits(100.0), "100");
        assert_eq!(credits(0.0), "0");
    }

    #[test]
    fn usage_requests_parse_in_any_order() {
        use UsageDimension::*;
        assert_eq!(
            parse_request(""),
            Ok(UsageRequest::Table(Period::Days(30), Model))
        );
        assert_eq!(
            parse_request("chart 7d by platform"),
            Ok(UsageRequest::Chart(Period::Days(7), Platform))
        );
        assert_eq!(
            parse_request("kind 6m chart"),
            Ok(UsageRequest::Chart(Period::Months(6), Kind))
        );
        assert_eq!(
            parse_request("activity today"),
            Ok(UsageRequest::Activity(Period::Today))
        );
        assert_eq!(parse_request("csv all"), Ok(UsageRequest::Csv(Period::All)));
        assert!(parse_request("chart by day").unwrap_err().contains("stack"));
        assert!(parse_request("fortnight")
            .unwrap_err()
            .contains("fortnight"));
    }

    #[test]
    fn tables_have_totals() {
        let rows = vec![
            UsageRow {
                key: "a".into(),
                model_calls: 2,
                credits: 1.5,
                ..UsageRow::default()
            },
            UsageRow {
                key: "b".into(),
                model_calls: 1,
                credits: 0.5,
                ..UsageRow::default()
            },
        ];
        let md = render_markdown(&rows, UsageDimension::Model, Period::Days(30));
        assert!(md.contains("| total | 3 | 2.00 |"), "{md}");
        let csv = render_csv(&rows, UsageDimension::Model).unwrap();
        assert!(csv.starts_with("model,model calls"));
        assert!(render_table(&rows, UsageDimension::Model).contains("total"));
    }

    #[test]
    fn estimated_figures_are_marked_and_counted() {
        let rows = vec![
            UsageRow {
                key: "local-llm".into(),
                model_calls: 4,
                estimated_calls: 3,
                prompt_tokens: 900,
                credits: 0.5,
                ..UsageRow::default()
            },
            UsageRow {
                key: "gpt".into(),
                model_calls: 2,
                credits: 1.5,
                ..UsageRow::default()
            },
        ];
        let table = render_table(&rows, UsageDimension::Model);
        assert!(table.contains("900~"), "{table}");
        assert!(table.contains("3 of 6 model calls"), "{table}");
        let md = render_markdown(&rows, UsageDimension::Model, Period::Days(30));
        assert!(md.contains("| local-llm | 4 | 0.50~ |"), "{md}");
        assert!(md.contains("| gpt | 2 | 1.50 |"), "{md}");
        assert!(md.contains("| total | 6 | 2.00~ |"), "{md}");
        let csv = render_csv(&rows, UsageDimension::Model).unwrap();
        assert!(csv.lines().next().unwrap().ends_with(",estimated calls"));
        assert!(
            csv.contains("local-llm,4,0,900,0,0,0.50,0.0000,0,3\n"),
            "{csv}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render_json(&rows, UsageDimension::Model, Period::All)).unwrap();
        assert_eq!(json["rows"][0]["estimated_calls"], 3);
        assert_eq!(json["total"]["estimated_calls"], 3);
        assert_eq!(json["total"]["model_calls"], 6);
        let exact = render_table(&rows[1..], UsageDimension::Model);
        assert!(
            !exact.contains('~') && !exact.contains("estimated"),
            "{exact}"
        );
    }
}
