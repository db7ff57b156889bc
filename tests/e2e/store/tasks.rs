//! Tasks created from chat: one row per id, replaced whole, removed on delete.

use super::at;
use fanops::store::{SharedStore, StoredTask};

fn task(id: &str, definition: &str) -> StoredTask {
    StoredTask {
        id: id.into(),
        definition: definition.into(),
        created_by: "telegram:3".into(),
        created_at: at(2, 8, 0),
        updated_at: at(2, 8, 0),
    }
}

pub(super) async fn tasks_are_inserted_once_updated_and_deleted(store: SharedStore) {
    assert!(store.stored_tasks().await.unwrap().is_empty());
    assert!(store
        .insert_task(&task("digest", "name = \"A\""))
        .await
        .unwrap());
    assert!(
        !store
            .insert_task(&task("digest", "name = \"B\""))
            .await
            .unwrap(),
        "a taken id is refused"
    );
    assert!(store
        .insert_task(&task("alerts", "name = \"C\""))
        .await
        .unwrap());
    let listed = store.stored_tasks().await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["alerts", "digest"]);
    assert_eq!(
        listed[1],
        task("digest", "name = \"A\""),
        "the first insert kept"
    );

    assert!(store
        .update_task("digest", "name = \"D\"", at(3, 9, 0))
        .await
        .unwrap());
    assert!(!store.update_task("nope", "x", at(3, 9, 0)).await.unwrap());
    let digest = store.stored_tasks().await.unwrap().remove(1);
    assert_eq!(digest.definition, "name = \"D\"");
    assert_eq!(digest.updated_at, at(3, 9, 0));
    assert_eq!(digest.created_at, at(2, 8, 0));

    assert!(store.delete_task("digest").await.unwrap());
    assert!(!store.delete_task("digest").await.unwrap());
    let ids: Vec<String> = store
        .stored_tasks()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["alerts"]);
}

pub(super) async fn scheduler_facts_are_read_and_written_in_bulk(store: SharedStore) {
    use fanops::store::RunStatus;
    let facts: Vec<(String, String)> = (0..50)
        .map(|i| (format!("scheduler.anchor.t{i:02}"), i.to_string()))
        .chain([("scheduler_x".to_string(), "not the prefix".to_string())])
        .collect();
    store.set_states(&facts).await.unwrap();
    store.set_states(&[]).await.unwrap();
    store.set_state("other.key", "v").await.unwrap();
    let read = store.states_with_prefix("scheduler.").await.unwrap();
    assert_eq!(read.len(), 50, "only names that start with the prefix");
    assert_eq!(
        read[7],
        ("scheduler.anchor.t07".to_string(), "7".to_string())
    );
    // Bulk writes replace like single ones.
    store
        .set_states(&[("scheduler.anchor.t07".into(), "x".into())])
        .await
        .unwrap();
    assert_eq!(
        store
            .state("scheduler.anchor.t07")
            .await
            .unwrap()
            .as_deref(),
        Some("x")
    );

    for (task, day) in [("a", 2), ("a", 4), ("b", 3)] {
        store
            .claim_run(task, at(day, 8, 0), RunStatus::Missed, at(day, 9, 0))
            .await
            .unwrap();
    }
    store.claim_manual_run("a", at(9, 8, 0)).await.unwrap();
    store
        .claim_manual_run("manual-only", at(9, 8, 0))
        .await
        .unwrap();
    let mut last = store.last_scheduled_all().await.unwrap();
    last.sort();
    assert_eq!(
        last,
        [
            ("a".to_string(), at(4, 8, 0)),
            ("b".to_string(), at(3, 8, 0))
        ],
        "manual runs never count"
    );
}
