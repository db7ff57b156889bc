//! Followed chat threads: the first record of a thread is kept, and every replica reads it.

use super::at;
use fanops::store::{FollowedThread, SharedStore};

pub(super) async fn a_followed_thread_is_recorded_once_and_read_back(store: SharedStore) {
    assert_eq!(store.followed_thread("900").await.unwrap(), None);
    let first = FollowedThread {
        thread: "900".into(),
        parent: "700".into(),
        guild: "800".into(),
        followed_at: at(2, 8, 0),
    };
    store.follow_thread(&first).await.unwrap();
    let later = (1..8).map(|n| {
        let store = store.clone();
        let mut thread = first.clone();
        thread.parent = format!("70{n}");
        thread.followed_at = at(2, 8, n);
        tokio::spawn(async move { store.follow_thread(&thread).await.unwrap() })
    });
    for again in later {
        again.await.unwrap();
    }
    assert_eq!(store.followed_thread("900").await.unwrap(), Some(first));
    assert_eq!(
        store.followed_thread("700").await.unwrap(),
        None,
        "the parent is not a thread"
    );
}
