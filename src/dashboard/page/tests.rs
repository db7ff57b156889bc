use super::*;
use crate::store::{EventOutcome, StoredEvent};
use chrono::Duration;

/// What a fan or the API could send: markup, an ampersand and quotes.
const HOSTILE: &str = "<script>alert(1)</script> & \"co\"";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;";

fn run(task: &str, status: RunStatus, at: DateTime<Utc>) -> TaskRun {
    TaskRun {
        task: task.into(),
        scheduled_for: at,
        status,
        started_at: at,
        finished_at: Some(at),
        model: Some("test-model".into()),
        output: Some(HOSTILE.into()),
        credits: 0.5,
        delivered_at: None,
        delivery_error: Some(HOSTILE.into()),
        delivery_retry: None,
    }
}

fn event(at: DateTime<Utc>) -> (StoredEvent, Vec<EventOutcome>) {
    let event = StoredEvent {
        id: "ev-1".into(),
        source: "onlyfansapi".into(),
        name: "tips.received".into(),
        kind: "tip".into(),
        account: Some(HOSTILE.into()),
        occurred_at: at,
        received_at: at,
        fields: serde_json::json!({"fan_name": HOSTILE, "amount": 25.0}),
        raw: "{}".into(),
    };
    let outcome = EventOutcome {
        event_id: "ev-1".into(),
        rule: HOSTILE.into(),
        outcome: "sent".into(),
        at,
    };
    (event, vec![outcome])
}

/// A page where every value a fan, a person or the API supplies is [`HOSTILE`].
fn hostile_page() -> PageData {
    let now = Utc::now();
    let tz = Tz::UTC;
    let line = Line {
        limit: Some(100.0),
        used: 90.0,
    };
    PageData {
        period: Period::parse("30d").unwrap(),
        period_text: "30d".into(),
        by: UsageDimension::User,
        tz,
        standing: Standing {
            month: crate::budget::month_of(now, tz),
            team: line,
            user: None,
        },
        runs: vec![(HOSTILE.into(), 3.0)],
        users: vec![(HOSTILE.into(), line)],
        usage: vec![UsageRow {
            key: HOSTILE.into(),
            model_calls: 2,
            ..UsageRow::default()
        }],
        activity: vec![activity(now)],
        tasks: vec![task(now)],
        alerts: vec![run(HOSTILE, RunStatus::Failed, now)],
        events: Listing {
            total: 1,
            events: vec![event(now)],
        },
        pending: vec![pending(now)],
        audit: vec![audit(now)],
        logged_in: true,
    }
}

/// A chat's use of the model by a hostile user, with a hostile model name.
fn activity(at: DateTime<Utc>) -> UsageEntry {
    UsageEntry {
        at,
        platform: "chat".into(),
        user: HOSTILE.into(),
        kind: "chat".into(),
        model: Some(HOSTILE.into()),
        ..UsageEntry::default()
    }
}

/// A file task with a hostile name, last run at `at` and due an hour later.
fn task(at: DateTime<Utc>) -> TaskLine {
    TaskLine {
        id: "digest".into(),
        name: HOSTILE.into(),
        schedule: "daily 08:00".into(),
        state: "active",
        source: "file",
        created_by: None,
        last: Some(run("digest", RunStatus::Succeeded, at)),
        next: Some(at + Duration::hours(1)),
    }
}

/// A write waiting for confirmation, asked for by a hostile user with a hostile summary.
fn pending(at: DateTime<Utc>) -> PendingAction {
    PendingAction {
        id: "a1".into(),
        conversation: "chat:100:".into(),
        platform: "chat".into(),
        requested_by: HOSTILE.into(),
        tool: "call_endpoint".into(),
        tool_call_id: "call_1".into(),
        arguments: serde_json::json!({}),
        summary: HOSTILE.into(),
        status: crate::store::ActionStatus::Pending,
        created_at: at,
        expires_at: at + Duration::minutes(10),
        decided_by: None,
        decided_at: None,
        result: None,
        prepared: None,
    }
}

/// A confirmation by a hostile actor of a hostile summary.
fn audit(at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        at,
        actor: HOSTILE.into(),
        action: "action.confirmed".into(),
        subject: Some("a1".into()),
        detail: serde_json::json!({"summary": HOSTILE}),
    }
}

/// The markup of the section with id `id`.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<section id=\"{id}\"")).expect(id);
    let end = html[start..].find("</section>").unwrap();
    &html[start..start + end]
}

#[test]
fn every_supplied_value_is_escaped_wherever_it_shows() {
    let html = render(&hostile_page()).into_string();
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("\"co\""), "{html}");
    for id in [
        "budgets", "usage", "activity", "tasks", "alerts", "events", "pending", "audit",
    ] {
        assert!(section(&html, id).contains(ESCAPED), "{id}: {html}");
    }
    let events = section(&html, "events");
    assert!(
        events.contains(&format!("<td>{ESCAPED} $25</td>")),
        "the fan's name: {events}"
    );
    assert!(
        events.contains(&format!("<span class=\"tag ok\">{ESCAPED}: sent</span>")),
        "the rule's name: {events}"
    );
    let pending = section(&html, "pending");
    assert!(pending.contains("<td>chat:100</td>"), "{pending}");
    assert!(html.contains("<form method=\"post\" action=\"/logout\">"));
}

#[test]
fn the_page_keeps_its_controls_chart_and_links() {
    let html = render(&hostile_page()).into_string();
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en\">"));
    assert!(html.contains("<option value=\"30d\" selected>30 days</option>"));
    assert!(html.contains("<option value=\"user\" selected>user</option>"));
    assert!(html.contains("<option value=\"7d\">7 days</option>"));
    assert!(html.contains(
        "<img class=\"chart\" src=\"/usage.png?period=30d&amp;by=user\" alt=\"Credits over time by user\" width=\"1000\" height=\"500\">"
    ));
    assert!(html.contains("<a href=\"/usage.csv?period=30d\">Download the ledger as CSV</a>"));
    let budgets = section(&html, "budgets");
    assert!(
        budgets.contains(
            "<div class=\"bar\" title=\"90%\"><i class=\"warn\" style=\"width:90.0%\"></i></div>"
        ),
        "{budgets}"
    );
    let alerts = section(&html, "alerts");
    assert!(
        alerts.contains(&format!(
            "<span class=\"tag bad\">failed; not delivered: {ESCAPED}</span>"
        )),
        "{alerts}"
    );
}

#[test]
fn a_note_on_the_login_form_is_escaped() {
    let html = login(Some("<script>alert(\"x\")</script> & 'y'")).into_string();
    assert!(
        html.contains(
            "<p class=\"tag bad\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'y'</p>"
        ),
        "{html}"
    );
    assert!(!html.contains("<script>"));
}

#[test]
fn the_login_form_posts_the_token() {
    let html = login(Some("That token is not right.")).into_string();
    assert!(html.contains("action=\"/login\""));
    assert!(html.contains("name=\"token\""));
    assert!(html.contains("not right"));
    assert!(html.contains("<input id=\"token\" name=\"token\" type=\"password\""));
}
