//! Usage ledger and audit log checks.

use chrono::{DateTime, Duration, Utc};
use fanops::store::{AuditEntry, SharedStore, UsageDimension, UsageEntry, UsageRow, UsageSource};
use serde_json::json;

use super::at;

fn model_call(at: DateTime<Utc>, who: (&str, &str, &str), model: &str, credits: f64) -> UsageEntry {
    let (platform, user, kind) = who;
    UsageEntry {
        at,
        platform: platform.into(),
        user: user.into(),
        kind: kind.into(),
        model: Some(model.into()),
        conversation: Some("c1".into()),
        source: UsageSource::Model,
        prompt_tokens: 100,
        completion_tokens: 20,
        cached_tokens: 10,
        credits,
        cost_usd: credits / 4.0,
        ..UsageEntry::default()
    }
}

fn api_call(
    at: DateTime<Utc>,
    who: (&str, &str, &str),
    model: Option<&str>,
    api_credits: f64,
) -> UsageEntry {
    let (platform, user, kind) = who;
    UsageEntry {
        at,
        platform: platform.into(),
        user: user.into(),
        kind: kind.into(),
        model: model.map(Into::into),
        task: Some("daily-report".into()),
        source: UsageSource::Api,
        endpoint: Some("statistics/get-earnings".into()),
        api_credits,
        ..UsageEntry::default()
    }
}

/// Three UTC days, with the last entry one millisecond before midnight.
async fn record_ledger(store: &SharedStore) {
    let alice = ("telegram", "alice", "chat");
    let bob = ("slack", "bob", "scheduled");
    let carol = ("console", "carol", "event");
    let entries = [
        model_call(at(1, 10, 0), alice, "fast", 2.0),
        api_call(at(1, 10, 1), alice, Some("fast"), 3.0),
        model_call(at(2, 9, 0), bob, "smart", 8.0),
        api_call(at(3, 0, 0) - Duration::milliseconds(1), bob, None, 1.5),
        model_call(at(1, 0, 0) - Duration::hours(1), carol, "fast", 0.25),
    ];
    for entry in &entries {
        store.record_usage(entry).await.unwrap();
    }
}

fn keys(rows: &[UsageRow]) -> Vec<&str> {
    rows.iter().map(|row| row.key.as_str()).collect()
}

pub(super) async fn usage_report_groups_by_every_dimension(store: SharedStore) {
    record_ledger(&store).await;

    let by_model = store
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    assert_eq!(
        keys(&by_model),
        ["smart", "fast", "-"],
        "largest credits first"
    );
    let fast = UsageRow {
        key: "fast".into(),
        model_calls: 2,
        api_calls: 1,
        prompt_tokens: 200,
        completion_tokens: 40,
        cached_tokens: 20,
        credits: 2.25,
        cost_usd: 0.5625,
        api_credits: 3.0,
        estimated_calls: 0,
    };
    assert_eq!(by_model[1], fast);
    let no_model = UsageRow {
        key: "-".into(),
        api_calls: 1,
        api_credits: 1.5,
        ..UsageRow::default()
    };
    assert_eq!(by_model[2], no_model, "an API call without a model");

    let by_platform = store
        .usage_report(None, UsageDimension::Platform)
        .await
        .unwrap();
    assert_eq!(keys(&by_platform), ["slack", "telegram", "console"]);
    assert_eq!(
        (by_platform[0].model_calls, by_platform[0].api_calls),
        (1, 1)
    );
    assert_eq!(by_platform[0].api_credits, 1.5);

    let by_kind = store
        .usage_report(None, UsageDimension::Kind)
        .await
        .unwrap();
    assert_eq!(keys(&by_kind), ["scheduled", "chat", "event"]);

    let by_user = store
        .usage_report(None, UsageDimension::User)
        .await
        .unwrap();
    assert_eq!(keys(&by_user), ["bob", "alice", "carol"]);
    assert_eq!(by_user[1].credits, 2.0);

    let by_day = store.usage_report(None, UsageDimension::Day).await.unwrap();
    assert_eq!(
        keys(&by_day),
        ["2026-02-28", "2026-03-01", "2026-03-02"],
        "oldest first"
    );
    assert_eq!((by_day[2].model_calls, by_day[2].api_calls), (1, 1));
    assert_eq!(by_day[2].credits, 8.0);
}

pub(super) async fn usage_report_since_filters(store: SharedStore) {
    assert!(store
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap()
        .is_empty());
    record_ledger(&store).await;

    let since_march = store
        .usage_report(Some(at(1, 0, 0)), UsageDimension::Day)
        .await;
    assert_eq!(keys(&since_march.unwrap()), ["2026-03-01", "2026-03-02"]);

    // `since` is inclusive.
    let since_smart = store
        .usage_report(Some(at(2, 9, 0)), UsageDimension::Model)
        .await;
    assert_eq!(keys(&since_smart.unwrap()), ["smart", "-"]);

    let future = store
        .usage_report(Some(at(20, 0, 0)), UsageDimension::User)
        .await;
    assert!(future.unwrap().is_empty());
}

/// Calls whose provider sent no usage are stored as estimates and counted per group;
/// API calls are never counted as estimated model calls.
pub(super) async fn estimated_calls_are_kept_and_counted(store: SharedStore) {
    let alice = ("telegram", "alice", "chat");
    let estimated = |at, model| UsageEntry {
        estimated: true,
        ..model_call(at, alice, model, 1.0)
    };
    let entries = [
        estimated(at(1, 10, 0), "local"),
        estimated(at(1, 11, 0), "local"),
        model_call(at(1, 12, 0), alice, "local", 1.0),
        model_call(at(1, 13, 0), alice, "fast", 4.0),
        UsageEntry {
            estimated: true,
            ..api_call(at(1, 14, 0), alice, Some("fast"), 1.0)
        },
    ];
    for entry in &entries {
        store.record_usage(entry).await.unwrap();
    }

    let by_model = store
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    assert_eq!(keys(&by_model), ["fast", "local"]);
    assert_eq!(
        (by_model[0].model_calls, by_model[0].estimated_calls),
        (1, 0)
    );
    assert_eq!(
        (by_model[1].model_calls, by_model[1].estimated_calls),
        (3, 2)
    );
    assert_eq!(
        by_model[1].prompt_tokens, 300,
        "estimated tokens still add up"
    );

    let by_day = store.usage_report(None, UsageDimension::Day).await.unwrap();
    assert_eq!(by_day[0].estimated_calls, 2);
    let later = store
        .usage_report(Some(at(1, 11, 30)), UsageDimension::User)
        .await
        .unwrap();
    assert_eq!(
        later[0].estimated_calls, 0,
        "since filters estimated calls too"
    );
}

// ----- Audit log -------------------------------------------------------------------

fn audit_entry(at: DateTime<Utc>, action: &str, subject: Option<&str>) -> AuditEntry {
    AuditEntry {
        at,
        actor: "alice".into(),
        action: action.into(),
        subject: subject.map(Into::into),
        detail: json!({"conversation": "c1", "extra": {"n": [1, 2.5, null]}}),
    }
}

pub(super) async fn audit_log_newest_first(store: SharedStore) {
    let entries = [
        audit_entry(at(1, 12, 0), "action.proposed", Some("a1")),
        audit_entry(at(1, 12, 2), "action.executed", Some("a1")),
        audit_entry(at(1, 12, 1), "action.confirmed", None),
    ];
    for entry in &entries {
        store.audit(entry).await.unwrap();
    }

    let recent = store.recent_audit(2).await.unwrap();
    assert_eq!(recent, vec![entries[1].clone(), entries[2].clone()]);
    let all = store.recent_audit(100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], entries[0]);
    assert!(store.recent_audit(0).await.unwrap().is_empty());
}

/// Rows name their bot; rows written before there were several (no connection) read as
/// their platform's top-level bot, and by platform both bots sum into one row.
pub(super) async fn usage_report_groups_by_connection(store: SharedStore) {
    let managers = UsageEntry {
        connection: "telegram:managers".into(),
        ..model_call(at(1, 10, 0), ("telegram", "3003", "chat"), "fast", 4.0)
    };
    let top = UsageEntry {
        connection: "telegram".into(),
        ..model_call(at(1, 11, 0), ("telegram", "1", "chat"), "fast", 1.0)
    };
    let older = model_call(at(1, 12, 0), ("telegram", "2", "chat"), "fast", 0.5);
    for entry in [&managers, &top, &older] {
        store.record_usage(entry).await.unwrap();
    }
    let by_connection = store
        .usage_report(None, UsageDimension::Connection)
        .await
        .unwrap();
    assert_eq!(keys(&by_connection), ["telegram:managers", "telegram"]);
    assert_eq!(by_connection[1].credits, 1.5);
    assert_eq!(by_connection[1].model_calls, 2);
    let by_platform = store
        .usage_report(None, UsageDimension::Platform)
        .await
        .unwrap();
    assert_eq!(keys(&by_platform), ["telegram"]);
    assert_eq!(by_platform[0].credits, 5.5);
    let recent = store.recent_usage(None, 10, false).await.unwrap();
    let managers_row = recent.iter().find(|e| e.user == "3003").unwrap();
    assert_eq!(
        (
            managers_row.platform.as_str(),
            managers_row.connection.as_str()
        ),
        ("telegram", "telegram:managers")
    );
}
