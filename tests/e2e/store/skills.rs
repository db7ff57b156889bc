//! Installed skills: one row per skill, shared by replicas; `[skills] installed` seeds
//! the first start only.

use super::at;
use fanops::store::SharedStore;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(super) async fn skills_install_once_and_remove_once(store: SharedStore) {
    assert!(store.installed_skills().await.unwrap().is_empty());
    let added = store
        .install_skills(
            &names(&["whale-watch", "top-spenders"]),
            "telegram:3",
            at(2, 8, 0),
        )
        .await
        .unwrap();
    assert_eq!(added, names(&["whale-watch", "top-spenders"]));
    let again = store
        .install_skills(
            &names(&["top-spenders", "churn-rescue"]),
            "cli",
            at(2, 9, 0),
        )
        .await
        .unwrap();
    assert_eq!(
        again,
        names(&["churn-rescue"]),
        "an installed skill is not added twice"
    );
    assert_eq!(
        store.installed_skills().await.unwrap(),
        names(&["churn-rescue", "top-spenders", "whale-watch"])
    );
    let removed = store
        .remove_skills(&names(&["whale-watch", "not-installed"]))
        .await
        .unwrap();
    assert_eq!(removed, names(&["whale-watch"]));
    assert_eq!(
        store.installed_skills().await.unwrap(),
        names(&["churn-rescue", "top-spenders"])
    );
}

pub(super) async fn skills_are_seeded_at_the_first_start_only(store: SharedStore) {
    let seed = names(&["earnings-recap"]);
    assert!(store.seed_skills(&seed, at(2, 8, 0)).await.unwrap());
    store.remove_skills(&seed).await.unwrap();
    assert!(
        !store.seed_skills(&seed, at(3, 8, 0)).await.unwrap(),
        "a later start does not seed again"
    );
    assert!(
        store.installed_skills().await.unwrap().is_empty(),
        "what the team removed stays removed"
    );
}
