//! Scheduled-run checks: the claim, the record, crash recovery.

use super::at;
use fanops::store::{RunStatus, SharedStore, TaskRun};

pub(super) async fn a_fire_is_claimed_exactly_once(store: SharedStore) {
    let fire = at(2, 8, 0);
    let claims = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_run("digest", fire, RunStatus::Running, at(2, 8, 0))
                .await
                .unwrap()
        })
    });
    let won = futures::future::join_all(claims)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
    assert!(store
        .claim_run("digest", at(3, 8, 0), RunStatus::Missed, at(3, 9, 0))
        .await
        .unwrap());
    assert!(store
        .claim_run("other", fire, RunStatus::Running, fire)
        .await
        .unwrap());
    assert_eq!(
        store.last_scheduled("digest").await.unwrap(),
        Some(at(3, 8, 0))
    );
    assert_eq!(store.last_scheduled("never").await.unwrap(), None);
    // A run started by hand is recorded but does not move the schedule.
    assert!(store.claim_manual_run("digest", at(4, 8, 0)).await.unwrap());
    assert_eq!(
        store.last_scheduled("digest").await.unwrap(),
        Some(at(3, 8, 0))
    );
    assert_eq!(
        store.recent_runs("digest", 1).await.unwrap()[0].scheduled_for,
        at(4, 8, 0)
    );
}

pub(super) async fn runs_are_recorded_and_listed_newest_first(store: SharedStore) {
    let fire = at(2, 8, 0);
    store
        .claim_run("digest", fire, RunStatus::Running, fire)
        .await
        .unwrap();
    store
        .claim_run("digest", at(1, 8, 0), RunStatus::Missed, fire)
        .await
        .unwrap();
    let done = TaskRun {
        task: "digest".into(),
        scheduled_for: fire,
        status: RunStatus::Succeeded,
        started_at: fire,
        finished_at: Some(at(2, 8, 1)),
        model: Some("gpt-4.1-mini".into()),
        output: Some("Yesterday: $1,912.40".into()),
        credits: 0.42,
        delivered_at: None,
        delivery_error: None,
        delivery_retry: None,
    };
    store.finish_run(&done).await.unwrap();
    store
        .record_delivery("digest", fire, at(2, 8, 2), None, None)
        .await
        .unwrap();
    let runs = store.recent_runs("digest", 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].output.as_deref(), Some("Yesterday: $1,912.40"));
    assert_eq!(runs[0].delivered_at, Some(at(2, 8, 2)));
    assert_eq!(runs[0].credits, 0.42);
    assert_eq!(runs[1].status, RunStatus::Missed);
    assert_eq!(runs[0].outcome(), "succeeded");
    store
        .record_delivery(
            "digest",
            at(1, 8, 0),
            at(2, 9, 0),
            Some("Telegram refused it: Too Many Requests"),
            Some(2),
        )
        .await
        .unwrap();
    let runs = store.recent_runs("digest", 10).await.unwrap();
    assert_eq!(runs[1].delivery_retry, Some(2));
    assert_eq!(
        runs[1].outcome(),
        "missed; delivering (retry 2): Telegram refused it: Too Many Requests"
    );
    store
        .record_delivery(
            "digest",
            at(1, 8, 0),
            at(2, 9, 0),
            Some("chat not found"),
            None,
        )
        .await
        .unwrap();
    let runs = store.recent_runs("digest", 10).await.unwrap();
    assert_eq!(runs[1].delivery_error.as_deref(), Some("chat not found"));
    assert_eq!(runs[1].delivered_at, None);
    assert_eq!(runs[1].delivery_retry, None);
    assert_eq!(runs[1].outcome(), "missed; not delivered: chat not found");
}

pub(super) async fn crashed_runs_are_marked_failed(store: SharedStore) {
    store
        .claim_run("digest", at(2, 8, 0), RunStatus::Running, at(2, 8, 0))
        .await
        .unwrap();
    store
        .claim_run("digest", at(2, 9, 0), RunStatus::Running, at(2, 9, 0))
        .await
        .unwrap();
    let failed = store
        .fail_stale_runs(at(2, 8, 30), at(2, 9, 10))
        .await
        .unwrap();
    assert_eq!(failed, 1, "only the run that started before the cut-off");
    let runs = store.recent_runs("digest", 10).await.unwrap();
    assert_eq!(runs[0].status, RunStatus::Running);
    assert_eq!(runs[1].status, RunStatus::Failed);
    assert!(runs[1]
        .output
        .as_deref()
        .unwrap()
        .contains("did not finish"));

    // A run that finished and whose first post was under way when the process stopped
    // reads "not delivered" once it is stale, not "delivering" for ever.
    for (hour, fire) in [(7, at(1, 7, 0)), (9, at(1, 9, 0))] {
        store
            .claim_run("recap", fire, RunStatus::Running, fire)
            .await
            .unwrap();
        let posting = TaskRun {
            task: "recap".into(),
            scheduled_for: fire,
            status: RunStatus::Succeeded,
            started_at: fire,
            finished_at: Some(at(2, hour, 1)),
            model: None,
            output: Some("Recap".into()),
            credits: 0.0,
            delivered_at: None,
            delivery_error: None,
            delivery_retry: Some(0),
        };
        store.finish_run(&posting).await.unwrap();
    }
    store
        .fail_stale_runs(at(2, 8, 30), at(2, 9, 10))
        .await
        .unwrap();
    let runs = store.recent_runs("recap", 10).await.unwrap();
    assert_eq!(runs[0].outcome(), "delivering", "still within the cut-off");
    assert_eq!(
        runs[1].outcome(),
        "not delivered: the process stopped while posting it, so it may not have arrived"
    );
}
