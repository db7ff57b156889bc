//! The event log: an event is stored once while its key holds and again after it lapses;
//! each (event, rule) is claimed once; digests collect and close; listings filter.

use super::at;
use fanops::store::{DedupKey, EventFilter, EventOutcome, SharedStore, StoredEvent};
use serde_json::json;

fn event(id: &str, kind: &str, day: u32) -> StoredEvent {
    StoredEvent {
        id: id.into(),
        source: "onlyfansapi".into(),
        name: "tips.received".into(),
        kind: kind.into(),
        account: Some("acct_1".into()),
        occurred_at: at(day, 8, 0),
        received_at: at(day, 8, 0),
        fields: json!({"amount": 12.5, "fan_username": "big"}),
        raw: "{}".into(),
    }
}

fn key(name: &str, until_day: u32) -> DedupKey {
    DedupKey {
        key: name.into(),
        until: at(until_day, 8, 0),
    }
}

fn outcome(event: &str, rule: &str, what: &str) -> EventOutcome {
    EventOutcome {
        event_id: event.into(),
        rule: rule.into(),
        outcome: what.into(),
        at: at(2, 8, 0),
    }
}

pub(super) async fn an_event_is_stored_once_while_its_key_holds(store: SharedStore) {
    let now = at(2, 8, 0);
    assert!(store
        .insert_event(&event("e1", "tip", 2), &key("k", 3), now)
        .await
        .unwrap());
    assert!(!store
        .insert_event(&event("e2", "tip", 2), &key("k", 3), now)
        .await
        .unwrap());
    // After the key lapses the same key is a new event; the first one stays.
    let later = at(4, 8, 0);
    assert!(store
        .insert_event(&event("e3", "tip", 4), &key("k", 5), later)
        .await
        .unwrap());
    assert_eq!(
        store.event("e1").await.unwrap().unwrap(),
        event("e1", "tip", 2)
    );
    assert!(store.event("e2").await.unwrap().is_none());
    let unprocessed = store.unprocessed_events(later, 10).await.unwrap();
    let ids: Vec<&str> = unprocessed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["e1", "e3"], "oldest first");
    store.mark_processed("e1", later).await.unwrap();
    assert_eq!(store.unprocessed_events(later, 10).await.unwrap().len(), 1);
    assert!(store
        .unprocessed_events(at(3, 8, 0), 10)
        .await
        .unwrap()
        .is_empty());
}

pub(super) async fn each_rule_claims_an_event_once_and_digests_close(store: SharedStore) {
    let now = at(2, 8, 0);
    for (id, day) in [("e1", 2), ("e2", 2), ("e3", 3)] {
        store
            .insert_event(&event(id, "new_subscriber", day), &key(id, 9), now)
            .await
            .unwrap();
    }
    assert!(store
        .claim_event_rule(&outcome("e1", "alert", "running"), None)
        .await
        .unwrap());
    assert!(!store
        .claim_event_rule(&outcome("e1", "alert", "running"), None)
        .await
        .unwrap());
    assert!(store
        .claim_event_rule(&outcome("e1", "other", "filtered: x"), None)
        .await
        .unwrap());
    // A claim left running is taken over only once it is old enough, and only once.
    assert!(!store
        .retake_event_rule("e1", "alert", at(1, 8, 0), now)
        .await
        .unwrap());
    assert!(store
        .retake_event_rule("e1", "alert", at(3, 8, 0), at(3, 9, 0))
        .await
        .unwrap());
    assert!(!store
        .retake_event_rule("e1", "alert", at(3, 8, 0), at(3, 9, 0))
        .await
        .unwrap());
    store
        .set_event_outcome("e1", "alert", "sent")
        .await
        .unwrap();

    for id in ["e2", "e3"] {
        assert!(store
            .claim_event_rule(&outcome(id, "digest", "batched"), Some(1000))
            .await
            .unwrap());
    }
    assert!(
        store.waiting_batches(1000).await.unwrap().is_empty(),
        "not before its window"
    );
    assert_eq!(
        store.waiting_batches(1001).await.unwrap(),
        [("digest".to_string(), 1000)]
    );
    let batch: Vec<String> = store
        .batch_events("digest", 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(batch, ["e2", "e3"]);
    store
        .close_batch("digest", 1000, "digest: sent")
        .await
        .unwrap();
    assert!(store.waiting_batches(1001).await.unwrap().is_empty());

    let outcomes = store
        .event_outcomes(&["e1".to_string(), "e2".to_string()])
        .await
        .unwrap();
    let seen: Vec<(&str, &str, &str)> = outcomes
        .iter()
        .map(|o| (o.event_id.as_str(), o.rule.as_str(), o.outcome.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("e1", "alert", "sent"),
            ("e1", "other", "filtered: x"),
            ("e2", "digest", "digest: sent")
        ]
    );
    let filter = EventFilter {
        since: Some(at(3, 0, 0)),
        kind: None,
        limit: 10,
    };
    let (listed, total) = store.recent_events(&filter).await.unwrap();
    assert_eq!((listed.len(), total), (1, 1));
    let filter = EventFilter {
        since: None,
        kind: Some("tip".into()),
        limit: 10,
    };
    assert_eq!(store.recent_events(&filter).await.unwrap().1, 0);
    let filter = EventFilter {
        since: None,
        kind: None,
        limit: 2,
    };
    let (listed, total) = store.recent_events(&filter).await.unwrap();
    assert_eq!(
        (listed[0].id.as_str(), listed.len(), total),
        ("e3", 2, 3),
        "newest first, cut, counted"
    );
    // Only handled events are forgotten, with their outcomes.
    store.mark_processed("e1", now).await.unwrap();
    assert_eq!(store.prune_events(at(3, 0, 0)).await.unwrap(), 1);
    assert!(store.event("e1").await.unwrap().is_none());
    assert!(
        store.event("e2").await.unwrap().is_some(),
        "unprocessed: kept"
    );
    assert!(store
        .event_outcomes(&["e1".to_string()])
        .await
        .unwrap()
        .is_empty());
}
