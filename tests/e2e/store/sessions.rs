//! Operations-page sessions: found while unexpired, ended once, pruned when expired.

use super::at;
use fanops::store::{DashboardSession, SharedStore};

fn session(id_hash: &str, expires_day: u32) -> DashboardSession {
    DashboardSession {
        id_hash: id_hash.into(),
        token_fingerprint: format!("fp-{id_hash}"),
        created_at: at(1, 8, 0),
        expires_at: at(expires_day, 8, 0),
    }
}

pub(super) async fn a_session_is_found_until_it_expires_or_ends(store: SharedStore) {
    let (long, short) = (session("aa11", 20), session("bb22", 3));
    store.open_session(&long).await.unwrap();
    store.open_session(&short).await.unwrap();
    assert_eq!(
        store.session("aa11", at(2, 8, 0)).await.unwrap(),
        Some(long.clone())
    );
    assert_eq!(store.session("cc33", at(2, 8, 0)).await.unwrap(), None);
    assert_eq!(
        store.session("bb22", at(3, 8, 0)).await.unwrap(),
        None,
        "expired at its expiry instant"
    );
    assert_eq!(store.prune_sessions(at(4, 8, 0)).await.unwrap(), 1);
    assert!(store.session("aa11", at(4, 8, 0)).await.unwrap().is_some());
    assert!(store.end_session("aa11").await.unwrap());
    assert!(!store.end_session("aa11").await.unwrap(), "ended once");
    assert_eq!(store.session("aa11", at(4, 8, 0)).await.unwrap(), None);
}
