//! Followed threads and refusal notices: facts every replica must agree on.

use super::at;
use chrono::Duration;
use fanops::store::{FollowedThread, SharedStore};

fn thread(platform: &str, chat: &str, thread: &str, minute: u32) -> FollowedThread {
    FollowedThread {
        platform: platform.into(),
        chat: chat.into(),
        thread: thread.into(),
        followed_at: at(2, 8, minute),
    }
}

pub(super) async fn a_followed_thread_stays_followed_and_is_per_chat(store: SharedStore) {
    assert!(!store.is_followed("slack", "C1", "1.0001").await.unwrap());
    let first = thread("slack", "C1", "1.0001", 0);
    store.follow_thread(&first).await.unwrap();
    store
        .follow_thread(&thread("slack", "C1", "1.0001", 1))
        .await
        .unwrap();
    assert!(store.is_followed("slack", "C1", "1.0001").await.unwrap());
    assert!(!store.is_followed("slack", "C2", "1.0001").await.unwrap());
    assert!(!store.is_followed("discord", "C1", "1.0001").await.unwrap());
    assert_eq!(
        store.followed_thread("slack", "1.0001").await.unwrap(),
        Some(first),
        "following again keeps the first record"
    );
}

pub(super) async fn a_thread_is_found_by_its_id_alone(store: SharedStore) {
    assert_eq!(store.followed_thread("discord", "900").await.unwrap(), None);
    let followed = thread("discord", "100", "900", 3);
    store.follow_thread(&followed).await.unwrap();
    assert_eq!(
        store.followed_thread("discord", "900").await.unwrap(),
        Some(followed)
    );
    assert_eq!(store.followed_thread("slack", "900").await.unwrap(), None);
}

pub(super) async fn a_refused_user_is_told_once_per_quiet_period(store: SharedStore) {
    let minute = Duration::minutes(1);
    let note = |now| {
        let store = store.clone();
        async move {
            store
                .note_refusal("slack", "U9", now, now - minute)
                .await
                .unwrap()
        }
    };
    let first = at(2, 8, 0);
    let racing: Vec<_> = (0..8).map(|_| tokio::spawn(note(first))).collect();
    let mut told = 0;
    for r in racing {
        told += usize::from(r.await.unwrap());
    }
    assert_eq!(told, 1, "one of the racing replicas tells");
    assert!(!note(first + Duration::seconds(59)).await);
    assert!(note(first + Duration::seconds(61)).await);
    assert!(
        store
            .note_refusal("telegram", "U9", first, first - minute)
            .await
            .unwrap(),
        "per platform"
    );
}
