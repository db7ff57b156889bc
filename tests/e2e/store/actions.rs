//! Pending action checks: the confirmation gate's storage and its atomic decision.

use chrono::{DateTime, Duration, Utc};
use fanops::store::{
    ActionStatus, DecideOutcome, Decision, PendingAction, SharedStore, StoreError,
};
use serde_json::json;

use super::at;

pub(super) fn pending(id: &str, conversation: &str, created_at: DateTime<Utc>) -> PendingAction {
    PendingAction {
        id: id.into(),
        conversation: conversation.into(),
        platform: "telegram".into(),
        requested_by: "alice".into(),
        tool: "send_message".into(),
        tool_call_id: format!("call_{id}"),
        arguments: json!({"text": "hi there", "fans": [1, 2], "nested": {"ok": true}}),
        summary: "Send `hi there` to 2 fans".into(),
        status: ActionStatus::Pending,
        created_at,
        expires_at: created_at + Duration::minutes(10),
        decided_by: None,
        decided_at: None,
        result: None,
        prepared: None,
    }
}

fn decided(outcome: DecideOutcome) -> PendingAction {
    match outcome {
        DecideOutcome::Decided(action) => action,
        other => panic!("expected Decided, got {other:?}"),
    }
}

fn unchanged(outcome: DecideOutcome) -> PendingAction {
    match outcome {
        DecideOutcome::Unchanged(action) => action,
        other => panic!("expected Unchanged, got {other:?}"),
    }
}

pub(super) async fn pending_actions_round_trip(store: SharedStore) {
    let mut action = pending("a1", "c1", at(1, 12, 0));
    // Sub-second precision down to the millisecond survives.
    action.created_at += Duration::milliseconds(123);
    store.insert_action(&action).await.unwrap();
    assert_eq!(store.action("a1").await.unwrap(), Some(action.clone()));
    assert_eq!(store.action("nope").await.unwrap(), None);

    let mut finished = pending("a2", "c1", at(1, 12, 5));
    finished.status = ActionStatus::Executed;
    finished.decided_by = Some("bob".into());
    finished.decided_at = Some(at(1, 12, 6));
    finished.result = Some("done".into());
    // What the tool prepared at proposal comes back as it was kept.
    finished.prepared =
        Some(json!({"endpoint": "e", "request": {"path": "/api/x", "query": [["a", "1"]]}}));
    store.insert_action(&finished).await.unwrap();
    assert_eq!(store.action("a2").await.unwrap(), Some(finished));

    let duplicate = store.insert_action(&action).await;
    assert!(
        matches!(duplicate, Err(StoreError::Database(_))),
        "an id is used once: {duplicate:?}"
    );
}

pub(super) async fn open_action_is_newest_pending_unexpired(store: SharedStore) {
    let now = at(1, 12, 0);
    let older = pending("older", "c1", now - Duration::minutes(3));
    let newer = pending("newer", "c1", now - Duration::minutes(1));
    let mut expired = pending("expired", "c1", now - Duration::minutes(20));
    expired.created_at = now;
    expired.expires_at = now;
    let elsewhere = pending("elsewhere", "c2", now);
    for action in [&older, &newer, &expired, &elsewhere] {
        store.insert_action(action).await.unwrap();
    }

    assert_eq!(
        store.open_action("c1", now).await.unwrap(),
        Some(newer.clone())
    );
    assert_eq!(store.open_action("c3", now).await.unwrap(), None);

    decided(
        store
            .decide("newer", Decision::Cancel, "bob", now)
            .await
            .unwrap(),
    );
    let open = store.open_action("c1", now).await.unwrap();
    assert_eq!(open.map(|a| a.id), Some("older".to_string()));

    let later = older.expires_at;
    assert_eq!(store.open_action("c1", later).await.unwrap(), None);
}

pub(super) async fn decide_confirm_then_second_decision_is_unchanged(store: SharedStore) {
    let action = pending("a1", "c1", at(1, 12, 0));
    store.insert_action(&action).await.unwrap();
    let now = at(1, 12, 2);

    let confirmed = decided(
        store
            .decide("a1", Decision::Confirm, "bob", now)
            .await
            .unwrap(),
    );
    let mut expected = action.clone();
    expected.status = ActionStatus::Confirmed;
    expected.decided_by = Some("bob".into());
    expected.decided_at = Some(now);
    assert_eq!(confirmed, expected);
    assert_eq!(store.action("a1").await.unwrap(), Some(expected.clone()));

    let later = now + Duration::seconds(30);
    for decision in [Decision::Cancel, Decision::Confirm] {
        let again = store.decide("a1", decision, "carol", later).await.unwrap();
        assert_eq!(unchanged(again), expected, "the first decision stands");
    }
}

pub(super) async fn decide_cancel_then_confirm_is_unchanged(store: SharedStore) {
    store
        .insert_action(&pending("a1", "c1", at(1, 12, 0)))
        .await
        .unwrap();
    let now = at(1, 12, 1);

    let cancelled = decided(
        store
            .decide("a1", Decision::Cancel, "bob", now)
            .await
            .unwrap(),
    );
    assert_eq!(cancelled.status, ActionStatus::Cancelled);
    assert_eq!(cancelled.decided_by.as_deref(), Some("bob"));

    let late = store
        .decide("a1", Decision::Confirm, "carol", now)
        .await
        .unwrap();
    assert_eq!(unchanged(late), cancelled);
}

pub(super) async fn decide_after_expiry_is_unchanged(store: SharedStore) {
    let action = pending("a1", "c1", at(1, 12, 0));
    store.insert_action(&action).await.unwrap();

    // Expiry is exclusive: at `expires_at` the action can no longer be decided.
    for now in [action.expires_at, action.expires_at + Duration::hours(1)] {
        let outcome = store
            .decide("a1", Decision::Confirm, "bob", now)
            .await
            .unwrap();
        assert_eq!(unchanged(outcome), action, "still pending, never decided");
    }

    let just_in_time = action.expires_at - Duration::milliseconds(1);
    let outcome = store
        .decide("a1", Decision::Confirm, "bob", just_in_time)
        .await;
    assert_eq!(decided(outcome.unwrap()).decided_at, Some(just_in_time));
}

pub(super) async fn decide_unknown_action_is_not_found(store: SharedStore) {
    let outcome = store
        .decide("missing", Decision::Confirm, "bob", at(1, 12, 0))
        .await
        .unwrap();
    assert_eq!(outcome, DecideOutcome::NotFound);
}

pub(super) async fn concurrent_decides_have_one_winner(store: SharedStore) {
    store
        .insert_action(&pending("a1", "c1", at(1, 12, 0)))
        .await
        .unwrap();
    let now = at(1, 12, 1);

    let racers: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let decision = if i % 2 == 0 {
                Decision::Confirm
            } else {
                Decision::Cancel
            };
            tokio::spawn(async move {
                let by = format!("user{i}");
                store.decide("a1", decision, &by, now).await
            })
        })
        .collect();

    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.expect("decide task").expect("decide") {
            DecideOutcome::Decided(action) => winners.push(action),
            DecideOutcome::Unchanged(action) => assert_ne!(action.status, ActionStatus::Pending),
            DecideOutcome::NotFound => panic!("the action exists"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one decide wins: {winners:?}");
    let stored = store.action("a1").await.unwrap().unwrap();
    assert_eq!(stored, winners[0]);
}

pub(super) async fn finish_action_records_end_of_confirmed_only(store: SharedStore) {
    let now = at(1, 12, 1);
    for id in ["ok", "broken", "waiting"] {
        store
            .insert_action(&pending(id, "c1", at(1, 12, 0)))
            .await
            .unwrap();
    }
    decided(
        store
            .decide("ok", Decision::Confirm, "bob", now)
            .await
            .unwrap(),
    );
    decided(
        store
            .decide("broken", Decision::Confirm, "bob", now)
            .await
            .unwrap(),
    );

    store
        .finish_action("ok", ActionStatus::Executed, r#"{"sent": 2}"#)
        .await
        .unwrap();
    store
        .finish_action("broken", ActionStatus::Failed, "Error: 422")
        .await
        .unwrap();
    let ok = store.action("ok").await.unwrap().unwrap();
    assert_eq!(
        (ok.status, ok.result.as_deref()),
        (ActionStatus::Executed, Some(r#"{"sent": 2}"#))
    );
    assert_eq!(
        ok.decided_by.as_deref(),
        Some("bob"),
        "the decision is kept"
    );
    let broken = store.action("broken").await.unwrap().unwrap();
    assert_eq!(
        (broken.status, broken.result.as_deref()),
        (ActionStatus::Failed, Some("Error: 422"))
    );

    // An ended action cannot end twice, and a pending one cannot skip the decision.
    store
        .finish_action("ok", ActionStatus::Failed, "again")
        .await
        .unwrap();
    assert_eq!(store.action("ok").await.unwrap().unwrap(), ok);
    store
        .finish_action("waiting", ActionStatus::Executed, "x")
        .await
        .unwrap();
    let waiting = store.action("waiting").await.unwrap().unwrap();
    assert_eq!(
        (waiting.status, waiting.result),
        (ActionStatus::Pending, None)
    );
    store
        .finish_action("missing", ActionStatus::Executed, "x")
        .await
        .unwrap();
}

pub(super) async fn expired_actions_are_moved_once(store: SharedStore) {
    store
        .insert_action(&pending("a1", "c1", at(1, 9, 0)))
        .await
        .unwrap();
    store
        .insert_action(&pending("a2", "c1", at(1, 9, 5)))
        .await
        .unwrap();
    store
        .insert_action(&pending("b1", "c2", at(1, 9, 0)))
        .await
        .unwrap();
    // At 09:12, only a1 (expires 09:10) has expired.
    let expired = store.expire_actions("c1", at(1, 9, 12)).await.unwrap();
    let ids: Vec<&str> = expired.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a1"]);
    assert_eq!(expired[0].status, ActionStatus::Expired);
    assert!(
        store
            .expire_actions("c1", at(1, 9, 12))
            .await
            .unwrap()
            .is_empty(),
        "once"
    );
    // An expired action cannot be decided, and is no longer open.
    let outcome = store
        .decide("a1", Decision::Confirm, "bob", at(1, 9, 13))
        .await
        .unwrap();
    assert!(matches!(outcome, DecideOutcome::Unchanged(a) if a.status == ActionStatus::Expired));
    let later = store.expire_actions("c1", at(1, 10, 0)).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].id, "a2");
    // Decided actions never expire; other conversations are untouched until asked.
    assert_eq!(
        store.action("b1").await.unwrap().unwrap().status,
        ActionStatus::Pending
    );
}
