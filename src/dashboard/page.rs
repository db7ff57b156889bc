//! The operations page as HTML: one server-rendered document with a small stylesheet, no
//! JavaScript. Every value from the store (names, ids, summaries, outputs) is escaped.

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
use std::fmt::Write as _;

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

const DIMENSIONS: [UsageDimension; 4] = [
    UsageDimension::Model,
    UsageDimension::Platform,
    UsageDimension::Kind,
    UsageDimension::User,
];

/// Text safe inside HTML elements and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>",
        escape(title)
    )
}

/// The login form (also the body of a 401 or 429), with a note saying what went wrong.
pub fn login(note: Option<&str>) -> String {
    let note = note.map_or(String::new(), |note| {
        format!("<p class=\"tag bad\">{}</p>", escape(note))
    });
    document(
        "fanops — sign in",
        &format!(
            "<main class=\"login\"><section><h2>fanops operations</h2>\
             <p class=\"muted\">Sign in with the dashboard token (<code>FANOPS_DASHBOARD_TOKEN</code>).</p>{note}\
             <form method=\"post\" action=\"/login\"><label for=\"token\">Token</label>\
             <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
             <button type=\"submit\">Sign in</button></form></section></main>"
        ),
    )
}

fn time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%d %b %Y %H:%M").to_string()
}

fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>], empty: &str) {
    if rows.is_empty() {
        let _ = write!(out, "<p class=\"muted\">{}</p>", escape(empty));
        return;
    }
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            // Cells are HTML built by this module from escaped values.
            out.push_str(cell);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn td(text: &str) -> String {
    format!("<td>{}</td>", escape(text))
}

fn num(text: String) -> String {
    format!("<td class=\"n\">{}</td>", escape(&text))
}

fn tag(text: &str, kind: &str) -> String {
    format!(
        "<td><span class=\"tag {kind}\">{}</span></td>",
        escape(text)
    )
}

/// A budget line as table cells: name, budget, used, left, a bar.
fn budget_row(name: &str, line: &Line) -> Vec<String> {
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
            let bar = format!(
                "<td><div class=\"bar\" title=\"{:.0}%\"><i class=\"{class}\" style=\"width:{:.1}%\"></i></div></td>",
                share * 100.0,
                share * 100.0
            );
            (credits(limit), credits(left), bar)
        }
        _ => ("none".into(), "—".into(), "<td></td>".into()),
    };
    vec![
        td(name),
        num(limit),
        num(credits(line.used)),
        num(left),
        bar,
    ]
}

fn controls(out: &mut String, data: &PageData) {
    out.push_str("<form class=\"controls\" method=\"get\" action=\"/\"><label>Period <select name=\"period\">");
    for (value, label) in PERIODS {
        let selected = if value == data.period_text {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{value}\"{selected}>{label}</option>");
    }
    out.push_str("</select></label><label>By <select name=\"by\">");
    for by in DIMENSIONS {
        let name = dimension_name(by);
        let selected = if by == data.by { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{name}\"{selected}>{name}</option>");
    }
    out.push_str("</select></label><button type=\"submit\">Show</button></form>");
}

fn usage_section(out: &mut String, data: &PageData) {
    let query = format!("period={}&by={}", data.period_text, dimension_name(data.by));
    let _ = write!(
        out,
        "<section id=\"usage\"><h2>Usage — {}</h2>",
        escape(&data.period.label())
    );
    controls(out, data);
    let _ = write!(
        out,
        "<img class=\"chart\" src=\"/usage.png?{query}\" alt=\"Credits over time by {}\" width=\"1000\" height=\"500\">",
        dimension_name(data.by)
    );
    let rows: Vec<Vec<String>> = data
        .usage
        .iter()
        .map(|r| {
            vec![
                td(&r.key),
                num(r.model_calls.to_string()),
                num(r.api_calls.to_string()),
                num(format!("{}", r.prompt_tokens + r.completion_tokens)),
                num(format!("{:.2}", r.credits)),
                num(format!("{:.4}", r.cost_usd)),
                num(format!("{:.0}", r.api_credits)),
            ]
        })
        .collect();
    let by = dimension_name(data.by);
    table(
        out,
        &[
            by,
            "model calls",
            "API calls",
            "tokens",
            "credits",
            "cost USD",
            "API credits",
        ],
        &rows,
        "No usage recorded in this period.",
    );
    let _ = write!(
        out,
        "<p class=\"muted\"><a href=\"/usage.csv?period={}\">Download the ledger as CSV</a></p></section>",
        data.period_text
    );
    let activity: Vec<Vec<String>> = data
        .activity
        .iter()
        .map(|r| {
            vec![
                td(&time(r.at, data.tz)),
                td(&r.platform),
                td(r.model.as_deref().unwrap_or("-")),
                td(&r.user),
                td(&r.kind),
                num(format!("{:.2}", r.credits)),
                num(format!("{:.4}", r.cost_usd)),
            ]
        })
        .collect();
    out.push_str("<section id=\"activity\"><h2>Activity</h2>");
    table(
        out,
        &[
            "time", "platform", "model", "user", "kind", "credits", "cost USD",
        ],
        &activity,
        "Nothing in this period.",
    );
    out.push_str("</section>");
}

fn budgets_section(out: &mut String, data: &PageData) {
    let month = &data.standing.month;
    let _ = write!(
        out,
        "<section id=\"budgets\"><h2>Budgets — {}</h2><p class=\"muted\">Calendar month in {}; renews {}.</p>",
        month.start.with_timezone(&data.tz).format("%B %Y"),
        escape(data.tz.name()),
        escape(&time(month.end, data.tz))
    );
    let mut rows = vec![budget_row("team", &data.standing.team)];
    // The team's own spending: in the team's budget, never a user's.
    rows.extend(data.runs.iter().map(|(kind, used)| {
        vec![
            td(&format!("team: {kind}")),
            num("the team's".into()),
            num(credits(*used)),
            num("—".into()),
            td(""),
        ]
    }));
    rows.extend(
        data.users
            .iter()
            .map(|(id, line)| budget_row(&format!("user {id}"), line)),
    );
    table(
        out,
        &["budget", "credits a month", "used", "left", ""],
        &rows,
        "",
    );
    out.push_str("</section>");
}

/// The run's outcome, its delivery included: green only when the post reached the chat.
fn run_tag(run: &TaskRun) -> String {
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

fn delivery(run: &TaskRun, tz: Tz) -> String {
    match run.delivered_at {
        Some(at) => td(&format!("delivered {}", time(at, tz))),
        None => td("—"),
    }
}

fn tasks_section(out: &mut String, data: &PageData) {
    let rows: Vec<Vec<String>> = data
        .tasks
        .iter()
        .filter(|t| t.state != "template")
        .map(|t| {
            let (last, status, delivered) = match &t.last {
                Some(run) => (
                    td(&time(run.scheduled_for, data.tz)),
                    run_tag(run),
                    delivery(run, data.tz),
                ),
                None => (td("—"), td(""), td("")),
            };
            vec![
                td(&format!("{} ({})", t.name, t.id)),
                td(&t.schedule),
                td(t.state),
                last,
                status,
                td(&t.next.map_or("—".into(), |n| time(n, data.tz))),
                delivered,
            ]
        })
        .collect();
    out.push_str("<section id=\"tasks\"><h2>Scheduled tasks</h2>");
    table(
        out,
        &[
            "task", "schedule", "state", "last run", "outcome", "next run", "delivery",
        ],
        &rows,
        "No active scheduled tasks.",
    );
    out.push_str("</section>");
    let alerts: Vec<Vec<String>> = data
        .alerts
        .iter()
        .map(|run| {
            // The outcome already says why a post did not arrive; here, what it said.
            let what = run.output.clone().unwrap_or_default();
            vec![
                td(&time(run.scheduled_for, data.tz)),
                td(&run.task),
                run_tag(run),
                td(&what.chars().take(200).collect::<String>()),
            ]
        })
        .collect();
    out.push_str("<section id=\"alerts\"><h2>Recent alerts</h2><p class=\"muted\">Runs that failed, were missed or skipped for the budget, and posts that did not go out.</p>");
    table(
        out,
        &["time", "task", "outcome", "detail"],
        &alerts,
        "None.",
    );
    out.push_str("</section>");
}

/// One rule's outcome as a tag: sent is good, a failure is bad, the rest is neutral.
fn outcome_tag(rule: &str, outcome: &str) -> String {
    let kind = if outcome.contains("failed") || outcome.contains("not delivered") {
        "bad"
    } else if outcome == "sent" || outcome.ends_with(": sent") {
        "ok"
    } else {
        ""
    };
    format!(
        "<span class=\"tag {kind}\">{}: {}</span>",
        escape(rule),
        escape(outcome)
    )
}

fn events_section(out: &mut String, data: &PageData) {
    let rows: Vec<Vec<String>> = data
        .events
        .events
        .iter()
        .map(|(event, outcomes)| {
            let rules = if outcomes.is_empty() {
                td("—")
            } else {
                let tags: Vec<String> = outcomes
                    .iter()
                    .map(|o| outcome_tag(&o.rule, &o.outcome))
                    .collect();
                format!("<td>{}</td>", tags.join(" "))
            };
            vec![
                td(&time(event.received_at, data.tz)),
                td(&event.source),
                td(&event.kind.replace('_', " ")),
                td(event.account.as_deref().unwrap_or("—")),
                td(&summary(event)),
                rules,
            ]
        })
        .collect();
    let shown = data.events.events.len() as u64;
    let more = if data.events.total > shown {
        format!(
            " The latest {shown} of {} are shown; <code>fanops events</code> lists them all.",
            data.events.total
        )
    } else {
        String::new()
    };
    let _ = write!(
        out,
        "<section id=\"events\"><h2>Recent events</h2><p class=\"muted\">Real-time events received in the last 24 hours and what each alert rule did with them.{more}</p>"
    );
    table(
        out,
        &["received", "source", "kind", "account", "what", "rules"],
        &rows,
        "No events in the last 24 hours.",
    );
    out.push_str("</section>");
}

fn records_section(out: &mut String, data: &PageData) {
    let pending: Vec<Vec<String>> = data
        .pending
        .iter()
        .map(|a| {
            vec![
                td(&time(a.created_at, data.tz)),
                td(&a.summary),
                td(&a.requested_by),
                td(&words::conversation(&a.conversation)),
                td(&time(a.expires_at, data.tz)),
            ]
        })
        .collect();
    out.push_str("<section id=\"pending\"><h2>Waiting for confirmation</h2>");
    table(
        out,
        &["asked", "change", "by", "conversation", "expires"],
        &pending,
        "Nothing is waiting.",
    );
    out.push_str("</section>");
    let audit: Vec<Vec<String>> = data
        .audit
        .iter()
        .map(|a| {
            vec![
                td(&time(a.at, data.tz)),
                td(&a.actor),
                td(&words::audit_action(a)),
            ]
        })
        .collect();
    out.push_str("<section id=\"audit\"><h2>Audit log</h2>");
    table(out, &["time", "who", "what"], &audit, "No writes yet.");
    out.push_str("</section>");
}

/// The whole page.
pub fn render(data: &PageData) -> String {
    let mut body = String::from("<header><h1>fanops operations</h1>");
    if data.logged_in {
        body.push_str("<form method=\"post\" action=\"/logout\"><button type=\"submit\">Sign out</button></form>");
    }
    body.push_str("</header><main>");
    budgets_section(&mut body, data);
    usage_section(&mut body, data);
    tasks_section(&mut body, data);
    events_section(&mut body, data);
    records_section(&mut body, data);
    body.push_str("</main>");
    document("fanops operations", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn the_login_form_posts_the_token() {
        let html = login(Some("That token is not right."));
        assert!(html.contains("action=\"/login\""));
        assert!(html.contains("name=\"token\""));
        assert!(html.contains("not right"));
    }
}
