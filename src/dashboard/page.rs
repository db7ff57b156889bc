//! The operations page as HTML: one server-rendered document with a small stylesheet, no
//! JavaScript, written as maud templates. maud escapes every value put into the markup
//! (names, ids, summaries, outputs, error texts), so escaping is the default; the only
//! markup not escaped is this module's own stylesheet.

use super::words;
use crate::budget::{credits, Line, Standing};
use crate::events::log::{summary, Listing};
use crate::store::{
    AuditEntry, PendingAction, RunStatus, TaskRun, UsageDimension, UsageEntry, UsageRow,
};
use crate::tasks::TaskLine;
use crate::usage::{dimension_name, Period};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Everything the page shows, read once per request.
pub struct PageData {
    pub period: Period,
    pub period_text: String,
    pub by: UsageDimension,
    pub tz: Tz,
    pub standing: Standing,
    /// What scheduled runs and event rules spent this month, by kind in words.
    pub runs: Vec<(String, f64)>,
    /// Each person with a budget or spend this month.
    pub users: Vec<(String, Line)>,
    pub usage: Vec<UsageRow>,
    pub activity: Vec<UsageEntry>,
    pub tasks: Vec<TaskLine>,
    pub alerts: Vec<TaskRun>,
    /// Recent real-time events with each rule's outcome, newest first.
    pub events: Listing,
    pub pending: Vec<PendingAction>,
    pub audit: Vec<AuditEntry>,
    /// Whether a login is in force (a logout button is shown).
    pub logged_in: bool,
}

const STYLE: &str = "\
:root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f7f8fa;--accent:#2962ff;--bad:#d92d20;--warn:#f79009;--ok:#12b76a}\
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
header{background:#111827;color:#fff;padding:12px 16px;display:flex;flex-wrap:wrap;gap:8px;align-items:center;justify-content:space-between}\
header h1{font-size:18px;margin:0}header form{margin:0}main{max-width:1100px;margin:0 auto;padding:12px}\
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:12px 0}\
h2{font-size:16px;margin:0 0 8px}p.muted,.muted{color:var(--muted);font-size:13px}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:14px}\
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}\
th{font-weight:600;color:var(--muted);white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
img.chart{width:100%;height:auto;border:1px solid var(--line);border-radius:8px}\
.bar{height:8px;background:var(--line);border-radius:4px;overflow:hidden;min-width:80px}.bar i{display:block;height:100%;background:var(--ok)}\
.bar i.warn{background:var(--warn)}.bar i.bad{background:var(--bad)}\
.tag{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;background:var(--line)}\
.tag.bad{background:#fee4e2;color:var(--bad)}.tag.warn{background:#fef0c7;color:#93370d}.tag.ok{background:#d1fadf;color:#05603a}\
form.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:10px}\
select,button,input{font:inherit;padding:5px 8px;border:1px solid var(--line);border-radius:6px;background:#fff}\
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}\
header button{background:transparent;border-color:#4b5563}\
.login{max-width:380px;margin:12vh auto}.login input{width:100%;margin:8px 0}\
@media (max-width:600px){body{font-size:14px}th,td{padding:5px}}";

const PERIODS: [(&str, &str); 6] = [
    ("today", "Today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("6m", "6 months"),
    ("1y", "1 year"),
    ("all", "All time"),
];

const DIMENSIONS: [UsageDimension; 5] = [
    UsageDimension::Model,
    UsageDimension::Platform,
    UsageDimension::Connection,
    UsageDimension::Kind,
    UsageDimension::User,
];

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                // The stylesheet is this module's constant text, and CSS is not HTML: it
                // goes in as written.
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

/// The login form (also the body of a 401 or 429), with a note saying what went wrong.
pub fn login(note: Option<&str>) -> Markup {
    let body = html! {
        main.login {
            section {
                h2 { "fanops operations" }
                p.muted {
                    "Sign in with the dashboard token (" code { "FANOPS_DASHBOARD_TOKEN" } ")."
                }
                @if let Some(note) = note {
                    p class="tag bad" { (note) }
                }
                form method="post" action="/login" {
                    label for="token" { "Token" }
                    input #token name="token" type="password" autocomplete="current-password" required autofocus;
                    button type="submit" { "Sign in" }
                }
            }
        }
    };
    document("fanops — sign in", body)
}

fn time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d %b %Y %H:%M").to_string()
}

/// A table of `rows` (each the row's cells), or `empty` when there are none.
fn table(headers: &[&str], rows: &[Markup], empty: &str) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { (empty) }
        } @else {
            div.scroll {
                table {
                    thead { tr { @for header in headers { th { (header) } } } }
                    tbody { @for row in rows { tr { (row) } } }
                }
            }
        }
    }
}

/// A cell holding `text` in a coloured tag: `kind` is `bad`, `warn`, `ok` or empty.
fn tag(text: &str, kind: &str) -> Markup {
    html! { td { span class={ "tag " (kind) } { (text) } } }
}

/// A budget line as table cells: name, budget, used, left, a bar.
fn budget_row(name: &str, line: &Line) -> Markup {
    let (limit, left, bar) = match (line.limit, line.left()) {
        (Some(limit), Some(left)) => {
            let share = if limit > 0.0 {
                (line.used / limit).clamp(0.0, 1.0)
            } else {
                1.0
            };
            let class = if line.is_spent() {
                "bad"
            } else if share >= 0.8 {
                "warn"
            } else {
                ""
            };
            let percent = share * 100.0;
            let bar = html! {
                div.bar title=(format!("{percent:.0}%")) {
                    i class=(class) style=(format!("width:{percent:.1}%")) {}
                }
            };
            (credits(limit), credits(left), bar)
        }
        _ => ("none".into(), "—".into(), html! {}),
    };
    html! {
        td { (name) }
        td.n { (limit) }
        td.n { (credits(line.used)) }
        td.n { (left) }
        td { (bar) }
    }
}

fn controls(data: &PageData) -> Markup {
    html! {
        form.controls method="get" action="/" {
            label {
                "Period "
                select name="period" {
                    @for (value, label) in PERIODS {
                        option value=(value) selected[value == data.period_text] { (label) }
                    }
                }
            }
            label {
                "By "
                select name="by" {
                    @for by in DIMENSIONS {
                        option value=(dimension_name(by)) selected[by == data.by] {
                            (dimension_name(by))
                        }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

fn usage_section(data: &PageData) -> Markup {
    let by = dimension_name(data.by);
    let rows: Vec<Markup> = data
        .usage
        .iter()
        .map(|r| {
            html! {
                td { (r.key) }
                td.n { (r.model_calls) }
                td.n { (r.api_calls) }
                td.n { (r.prompt_tokens + r.completion_tokens) }
                td.n { (format!("{:.2}", r.credits)) }
                td.n { (format!("{:.4}", r.cost_usd)) }
                td.n { (format!("{:.0}", r.api_credits)) }
            }
        })
        .collect();
    let headers = [
        by,
        "model calls",
        "API calls",
        "tokens",
        "credits",
        "cost USD",
        "API credits",
    ];
    html! {
        section #usage {
            h2 { "Usage — " (data.period.label()) }
            (controls(data))
            img.chart src=(format!("/usage.png?period={}&by={by}", data.period_text))
                alt=(format!("Credits over time by {by}")) width="1000" height="500";
            (table(&headers, &rows, "No usage recorded in this period."))
            p.muted {
                a href=(format!("/usage.csv?period={}", data.period_text)) {
                    "Download the ledger as CSV"
                }
            }
        }
    }
}

fn activity_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .activity
        .iter()
        .map(|r| {
            html! {
                td { (time(r.at, data.tz)) }
                td { (r.platform) }
                td { (r.model.as_deref().unwrap_or("-")) }
                td { (r.user) }
                td { (r.kind) }
                td.n { (format!("{:.2}", r.credits)) }
                td.n { (format!("{:.4}", r.cost_usd)) }
            }
        })
        .collect();
    let headers = [
        "time", "platform", "model", "user", "kind", "credits", "cost USD",
    ];
    html! {
        section #activity {
            h2 { "Activity" }
            (table(&headers, &rows, "Nothing in this period."))
        }
    }
}

fn budgets_section(data: &PageData) -> Markup {
    let month = &data.standing.month;
    let mut rows = vec![budget_row("team", &data.standing.team)];
    // The team's own spending: in the team's budget, never a user's.
    rows.extend(data.runs.iter().map(|(kind, used)| {
        html! {
            td { "team: " (kind) }
            td.n { "the team's" }
            td.n { (credits(*used)) }
            td.n { "—" }
            td {}
        }
    }));
    rows.extend(
        data.users
            .iter()
            .map(|(id, line)| budget_row(&format!("user {id}"), line)),
    );
    let headers = ["budget", "credits a month", "used", "left", ""];
    html! {
        section #budgets {
            h2 { "Budgets — " (month.start.with_timezone(&data.tz).format("%B %Y")) }
            p.muted {
                "Calendar month in " (data.tz.name()) "; renews " (time(month.end, data.tz)) "."
            }
            (table(&headers, &rows, ""))
        }
    }
}

/// The run's outcome, its delivery included: green only when the post reached the chat.
fn run_tag(run: &TaskRun) -> Markup {
    let kind = match run.status {
        RunStatus::Failed | RunStatus::Missed => "bad",
        _ if run.delivery_retry.is_some() && run.delivered_at.is_none() => "warn",
        _ if run.undelivered() => "bad",
        RunStatus::Succeeded => "ok",
        RunStatus::Running => "",
        RunStatus::SkippedBudget => "warn",
    };
    tag(&run.outcome(), kind)
}

fn delivery(run: &TaskRun, tz: Tz) -> Markup {
    match run.delivered_at {
        Some(at) => html! { td { "delivered " (time(at, tz)) } },
        None => html! { td { "—" } },
    }
}

/// Who made a task in chat (`<connection>:<user id>`), else where it is defined.
fn made_by(task: &crate::tasks::TaskLine) -> String {
    match (&task.created_by, task.source) {
        (Some(by), _) => by.clone(),
        (None, "built-in") => "built in".into(),
        (None, _) => "workflow file".into(),
    }
}

fn tasks_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .tasks
        .iter()
        .filter(|t| t.state != "template")
        .map(|t| {
            let (last, outcome, delivered) = match &t.last {
                Some(run) => (
                    html! { td { (time(run.scheduled_for, data.tz)) } },
                    run_tag(run),
                    delivery(run, data.tz),
                ),
                None => (html! { td { "—" } }, html! { td {} }, html! { td {} }),
            };
            html! {
                td { (t.name) " (" (t.id) ")" }
                td { (made_by(t)) }
                td { (t.schedule) }
                td { (t.state) }
                (last)
                (outcome)
                td { (t.next.map_or("—".into(), |n| time(n, data.tz))) }
                (delivered)
            }
        })
        .collect();
    let headers = [
        "task", "made by", "schedule", "state", "last run", "outcome", "next run", "delivery",
    ];
    html! {
        section #tasks {
            h2 { "Scheduled tasks" }
            (table(&headers, &rows, "No active scheduled tasks."))
        }
    }
}

fn alerts_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .alerts
        .iter()
        .map(|run| {
            // The outcome already says why a post did not arrive; here, what it said.
            let what: String = run
                .output
                .as_deref()
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            html! {
                td { (time(run.scheduled_for, data.tz)) }
                td { (run.task) }
                (run_tag(run))
                td { (what) }
            }
        })
        .collect();
    html! {
        section #alerts {
            h2 { "Recent alerts" }
            p.muted {
                "Runs that failed, were missed or skipped for the budget, and posts that did not go out."
            }
            (table(&["time", "task", "outcome", "detail"], &rows, "None."))
        }
    }
}

/// One rule's outcome as a tag: sent is good, a failure is bad, the rest is neutral.
fn outcome_tag(rule: &str, outcome: &str) -> Markup {
    let kind = if outcome.contains("failed") || outcome.contains("not delivered") {
        "bad"
    } else if outcome == "sent" || outcome.ends_with(": sent") {
        "ok"
    } else {
        ""
    };
    html! { span class={ "tag " (kind) } { (rule) ": " (outcome) } }
}

fn events_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .events
        .events
        .iter()
        .map(|(event, outcomes)| {
            html! {
                td { (time(event.received_at, data.tz)) }
                td { (event.source) }
                td { (event.kind.replace('_', " ")) }
                td { (event.account.as_deref().unwrap_or("—")) }
                td { (summary(event)) }
                td {
                    @for (i, o) in outcomes.iter().enumerate() {
                        @if i > 0 { " " }
                        (outcome_tag(&o.rule, &o.outcome))
                    }
                    @if outcomes.is_empty() { "—" }
                }
            }
        })
        .collect();
    let shown = data.events.events.len() as u64;
    let total = data.events.total;
    let headers = ["received", "source", "kind", "account", "what", "rules"];
    html! {
        section #events {
            h2 { "Recent events" }
            p.muted {
                "Real-time events received in the last 24 hours and what each alert rule did with them."
                @if total > shown {
                    " The latest " (shown) " of " (total) " are shown; "
                    code { "fanops events" } " lists them all."
                }
            }
            (table(&headers, &rows, "No events in the last 24 hours."))
        }
    }
}

fn pending_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .pending
        .iter()
        .map(|a| {
            html! {
                td { (time(a.created_at, data.tz)) }
                td { (a.summary) }
                td { (a.requested_by) }
                td { (words::conversation(&a.conversation)) }
                td { (time(a.expires_at, data.tz)) }
            }
        })
        .collect();
    let headers = ["asked", "change", "by", "conversation", "expires"];
    html! {
        section #pending {
            h2 { "Waiting for confirmation" }
            (table(&headers, &rows, "Nothing is waiting."))
        }
    }
}

fn audit_section(data: &PageData) -> Markup {
    let rows: Vec<Markup> = data
        .audit
        .iter()
        .map(|a| {
            html! {
                td { (time(a.at, data.tz)) }
                td { (a.actor) }
                td { (words::audit_action(a)) }
            }
        })
        .collect();
    html! {
        section #audit {
            h2 { "Audit log" }
            (table(&["time", "who", "what"], &rows, "No writes yet."))
        }
    }
}

/// The whole page.
pub fn render(data: &PageData) -> Markup {
    let body = html! {
        header {
            h1 { "fanops operations" }
            @if data.logged_in {
                form method="post" action="/logout" { button type="submit" { "Sign out" } }
            }
        }
        main {
            (budgets_section(data))
            (usage_section(data))
            (activity_section(data))
            (tasks_section(data))
            (alerts_section(data))
            (events_section(data))
            (pending_section(data))
            (audit_section(data))
        }
    };
    document("fanops operations", body)
}

#[cfg(test)]
mod tests;
