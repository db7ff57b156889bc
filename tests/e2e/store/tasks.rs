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
