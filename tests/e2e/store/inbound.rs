//! Inbound claims: one owner per event, leases that lapse when the owner dies, answered
//! events never handled again.

use super::at;
use chrono::Duration;
use fanops::store::{InboundClaim, SharedStore};

fn claim(id: &str, owner: &str, minute: u32) -> InboundClaim {
    InboundClaim {
        source: "telegram.update".into(),
        id: id.into(),
        payload: format!("{{\"update_id\": {id}}}"),
        owner: owner.into(),
        claimed_at: at(2, 8, minute),
        lease_until: at(2, 8, minute) + Duration::seconds(20),
        attempts: 1,
        placeholder: None,
    }
}

pub(super) async fn an_event_is_claimed_once_and_taken_over_when_its_lease_lapses(
    store: SharedStore,
) {
    let claims = (0..10).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_inbound(&claim("1", &format!("p{n}"), 0))
                .await
                .unwrap()
        })
    });
    let won = futures::future::join_all(claims)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1, "one process claims an update");
    store
        .note_placeholder("telegram.update", "1", "1001")
        .await
        .unwrap();
    let owner_of_1 = {
        // Nothing is abandoned while the lease runs.
        let taken = store
            .take_abandoned_inbound("telegram.update", "late", at(2, 8, 0), at(2, 9, 0), 10)
            .await
            .unwrap();
        assert!(taken.is_empty());
        // Which process won does not matter; read it back by taking it after the lease.
        let taken = store
            .take_abandoned_inbound(
                "telegram.update",
                "new",
                at(2, 8, 1),
                at(2, 8, 1) + Duration::seconds(20),
                10,
            )
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].id, "1");
        assert_eq!(taken[0].owner, "new");
        assert_eq!(taken[0].attempts, 2);
        assert_eq!(taken[0].payload, "{\"update_id\": 1}");
        assert_eq!(taken[0].placeholder.as_deref(), Some("1001"));
        taken[0].owner.clone()
    };
    // The new owner renews; nobody else can take it while it does.
    assert_eq!(
        store.renew_inbound(&owner_of_1, at(2, 8, 5)).await.unwrap(),
        1
    );
    let taken = store
        .take_abandoned_inbound("telegram.update", "third", at(2, 8, 4), at(2, 8, 6), 10)
        .await
        .unwrap();
    assert!(taken.is_empty());
    // Answered: never handed out again, and pruned once old.
    store
        .answer_inbound("telegram.update", "1", at(2, 8, 4))
        .await
        .unwrap();
    let taken = store
        .take_abandoned_inbound("telegram.update", "third", at(3, 8, 0), at(3, 9, 0), 10)
        .await
        .unwrap();
    assert!(taken.is_empty());
    assert!(
        !store.claim_inbound(&claim("1", "again", 30)).await.unwrap(),
        "a redelivery is not claimed again"
    );
    assert_eq!(
        store
            .prune_inbound("telegram.update", at(2, 7, 0))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .prune_inbound("telegram.update", at(9, 0, 0))
            .await
            .unwrap(),
        1
    );
}

pub(super) async fn a_stopping_owner_releases_its_unanswered_events_oldest_first(
    store: SharedStore,
) {
    for (id, minute) in [("12", 2), ("10", 0), ("11", 1)] {
        assert!(store
            .claim_inbound(&claim(id, "old", minute))
            .await
            .unwrap());
    }
    assert!(store.claim_inbound(&claim("20", "other", 2)).await.unwrap());
    store
        .answer_inbound("telegram.update", "11", at(2, 8, 1))
        .await
        .unwrap();
    // A graceful stop ends the leases still running (12's); 10's had already lapsed.
    let now = at(2, 8, 2);
    assert_eq!(store.release_inbound("old", now).await.unwrap(), 1);
    let taken = store
        .take_abandoned_inbound(
            "telegram.update",
            "new",
            now,
            now + Duration::seconds(20),
            10,
        )
        .await
        .unwrap();
    let ids: Vec<&str> = taken.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        ["10", "12"],
        "oldest first; the answered one and another owner's stay"
    );
    let taken = store
        .take_abandoned_inbound("other.source", "new", at(9, 0, 0), at(9, 1, 0), 10)
        .await
        .unwrap();
    assert!(taken.is_empty(), "sources are separate");
}
