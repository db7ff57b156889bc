//! Budget settings, spend sums and the operations page's reads.

use super::{actions::pending, at};
use fanops::store::{
    Bucket, BudgetSetting, RunStatus, SeriesPoint, SharedStore, Spend, TaskRun, UsageDimension,
    UsageEntry, UsageSource,
};

fn spent(at: chrono::DateTime<chrono::Utc>, user: &str, model: &str, credits: f64) -> UsageEntry {
    UsageEntry {
        at,
        platform: "telegram".into(),
        user: user.into(),
        kind: "chat".into(),
        model: Some(model.into()),
        source: UsageSource::Model,
        credits,
        cost_usd: credits / 100.0,
        ..UsageEntry::default()
    }
}

fn setting(scope: &str, credits: Option<f64>) -> BudgetSetting {
    BudgetSetting {
        scope: scope.into(),
        monthly_credits: credits,
        set_by: "3".into(),
        set_at: at(1, 9, 0),
    }
}

pub(super) async fn budgets_are_set_replaced_and_spend_is_summed(store: SharedStore) {
    assert!(store.budget_settings().await.unwrap().is_empty());
    store
        .set_budget(&setting("team", Some(100.0)))
        .await
        .unwrap();
    store
        .set_budget(&setting("user:1", Some(5.0)))
        .await
        .unwrap();
    store.set_budget(&setting("team", None)).await.unwrap();
    let settings = store.budget_settings().await.unwrap();
    assert_eq!(
        settings,
        vec![setting("team", None), setting("user:1", Some(5.0))]
    );

    for entry in [
        spent(at(1, 0, 0), "1", "m", 100.0), // before the month asked about
        spent(at(2, 10, 0), "1", "m", 2.0),
        spent(at(2, 11, 30), "2", "n", 3.5),
        spent(at(3, 12, 0), "1", "n", 0.25),
    ] {
        store.record_usage(&entry).await.unwrap();
    }
    let since = at(2, 0, 0);
    assert_eq!(
        store.spend_since(since, "1").await.unwrap(),
        Spend {
            team: 5.75,
            user: 2.25
        }
    );
    assert_eq!(store.spend_since(since, "nobody").await.unwrap().user, 0.0);
    assert_eq!(
        store.spend_by_user_since(since).await.unwrap(),
        vec![("2".to_string(), 3.5), ("1".to_string(), 2.25)]
    );
}

pub(super) async fn operations_reads_cover_every_conversation_and_task(store: SharedStore) {
    store
        .record_usage(&spent(at(2, 10, 5), "1", "m", 2.0))
        .await
        .unwrap();
    store
        .record_usage(&spent(at(2, 10, 40), "2", "n", 1.0))
        .await
        .unwrap();
    store
        .record_usage(&spent(at(3, 8, 0), "1", "m", 4.0))
        .await
        .unwrap();
    let api = UsageEntry {
        at: at(3, 9, 0),
        source: UsageSource::Api,
        endpoint: Some("statistics/get-earnings".into()),
        api_credits: 3.0,
        ..spent(at(3, 9, 0), "1", "m", 0.0)
    };
    store.record_usage(&api).await.unwrap();

    let all = store.recent_usage(None, 10, false).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].endpoint.as_deref(), Some("statistics/get-earnings"));
    let charged = store
        .recent_usage(Some(at(2, 10, 30)), 10, true)
        .await
        .unwrap();
    let credits: Vec<f64> = charged.iter().map(|e| e.credits).collect();
    assert_eq!(credits, [4.0, 1.0], "newest first, API calls left out");

    let days = store
        .usage_series(None, UsageDimension::Model, Bucket::Day)
        .await
        .unwrap();
    let point = |bucket: &str, key: &str, credits: f64| SeriesPoint {
        bucket: bucket.into(),
        key: key.into(),
        credits,
    };
    assert_eq!(
        days,
        vec![
            point("2026-03-02", "m", 2.0),
            point("2026-03-02", "n", 1.0),
            point("2026-03-03", "m", 4.0),
        ]
    );
    let hours = store
        .usage_series(Some(at(2, 0, 0)), UsageDimension::User, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(
        hours,
        vec![
            point("2026-03-02 10", "1", 2.0),
            point("2026-03-02 10", "2", 1.0),
            point("2026-03-03 08", "1", 4.0),
            point("2026-03-03 09", "1", 0.0),
        ]
    );

    let waiting = pending("a1", "telegram:1:", at(2, 9, 0));
    store.insert_action(&waiting).await.unwrap();
    store
        .insert_action(&pending("a2", "slack:C1:", at(2, 9, 5)))
        .await
        .unwrap();
    let open = store.open_actions(at(2, 9, 8), 10).await.unwrap();
    let ids: Vec<&str> = open.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a2", "a1"]);
    assert_eq!(
        store.open_actions(at(2, 9, 12), 10).await.unwrap().len(),
        1,
        "a1 expired"
    );

    for (task, day) in [("digest", 2), ("recap", 3)] {
        store
            .claim_run(task, at(day, 8, 0), RunStatus::Running, at(day, 8, 0))
            .await
            .unwrap();
    }
    store
        .finish_run(&TaskRun {
            task: "recap".into(),
            scheduled_for: at(3, 8, 0),
            status: RunStatus::SkippedBudget,
            started_at: at(3, 8, 0),
            finished_at: Some(at(3, 8, 0)),
            model: None,
            output: Some("budget spent".into()),
            credits: 0.0,
            delivered_at: None,
            delivery_error: None,
            delivery_retry: None,
        })
        .await
        .unwrap();
    let runs = store.latest_runs(10).await.unwrap();
    assert_eq!(runs[0].task, "recap");
    assert_eq!(runs[0].status, RunStatus::SkippedBudget);
    assert_eq!(runs[1].task, "digest");
}

/// What a scheduled run or an event rule records: the scheduler's user, the run's task.
fn of_a_run(at: chrono::DateTime<chrono::Utc>, kind: &str, task: &str, credits: f64) -> UsageEntry {
    UsageEntry {
        user: "scheduler".into(),
        kind: kind.into(),
        task: Some(task.into()),
        ..spent(at, "scheduler", "m", credits)
    }
}

pub(super) async fn runs_spend_the_teams_budget_and_are_no_user(store: SharedStore) {
    assert_eq!(store.first_usage().await.unwrap(), None);
    for entry in [
        spent(at(2, 9, 0), "1", "m", 2.0),
        of_a_run(at(2, 8, 0), "scheduled", "morning-digest", 0.5),
        of_a_run(at(2, 10, 0), "scheduled", "weekly-recap", 0.25),
        of_a_run(at(2, 11, 0), "event", "big-tips", 0.125),
        // A web search made by a scheduled run keeps its own kind, and its task.
        of_a_run(at(2, 12, 0), "web_search", "morning-digest", 0.0625),
    ] {
        store.record_usage(&entry).await.unwrap();
    }
    assert_eq!(store.first_usage().await.unwrap(), Some(at(2, 8, 0)));
    let since = at(2, 0, 0);
    assert_eq!(
        store.spend_by_user_since(since).await.unwrap(),
        vec![("1".to_string(), 2.0)],
        "runs are not a user"
    );
    assert_eq!(
        store.spend_of_runs_since(since).await.unwrap(),
        vec![
            ("scheduled".to_string(), 0.75),
            ("event".to_string(), 0.125),
            ("web_search".to_string(), 0.0625)
        ]
    );
    assert_eq!(
        store.spend_since(since, "scheduler").await.unwrap(),
        Spend {
            team: 2.9375,
            user: 0.0
        },
        "the team's spend counts the runs; no person's does"
    );
}
