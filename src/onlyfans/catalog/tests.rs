use super::*;
use serde_json::json;

fn catalog() -> &'static Catalog {
    Catalog::embedded()
}

fn params(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn embedded_catalog_counts() {
    let c = catalog();
    assert_eq!(c.endpoints().len(), 278);
    assert_eq!(
        c.endpoints().iter().filter(|e| e.path.is_some()).count(),
        266
    );
    assert_eq!(
        c.endpoints()
            .iter()
            .filter(|e| e.effect == Effect::Read)
            .count(),
        149
    );
    assert_eq!(
        c.endpoints()
            .iter()
            .filter(|e| e.effect == Effect::Write)
            .count(),
        129
    );
}

#[test]
fn every_path_parameter_is_declared() {
    for e in catalog().endpoints() {
        let Some(path) = &e.path else { continue };
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            assert!(
                e.params
                    .iter()
                    .any(|p| p.name == name && p.location == ParamLocation::Path),
                "{}: {name}",
                e.id
            );
        }
    }
}

#[test]
fn prepares_a_read_with_query_dates() {
    let e = catalog().get("statistics/get-earnings").unwrap();
    let r = e
        .prepare(
            Some("acct_1"),
            &params(json!({"start_date": "2025-06-01 00:00:00", "type": "tips"})),
        )
        .unwrap();
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.path, "/api/acct_1/statistics/statements/earnings");
    assert_eq!(
        r.query,
        vec![
            ("start_date".into(), "2025-06-01 00:00:00".into()),
            ("type".into(), "tips".into())
        ]
    );
    assert_eq!(r.body, None);
}

#[test]
fn prepares_a_write_with_path_and_body() {
    let e = catalog().get("chat-messages/send-message").unwrap();
    let r = e
        .prepare(
            Some("acct_1"),
            &params(json!({"chat_id": 123, "text": "hi", "price": "15"})),
        )
        .unwrap();
    assert_eq!(r.method, Method::Post);
    assert_eq!(r.path, "/api/acct_1/chats/123/messages");
    assert!(r.query.is_empty());
    assert_eq!(
        r.body.unwrap(),
        params(json!({"text": "hi", "price": 15.0}))
    );
}

#[test]
fn account_may_come_from_params_and_is_checked() {
    let e = catalog().get("payouts/get-account-balances").unwrap();
    assert_eq!(
        e.prepare(None, &params(json!({"account": "acct_9"})))
            .unwrap()
            .path,
        "/api/acct_9/payouts/balances"
    );
    assert!(matches!(
        e.prepare(None, &Map::new()),
        Err(ValidationError::AccountMissing { .. })
    ));
    assert!(matches!(
        e.prepare(Some("281734905"), &Map::new()),
        Err(ValidationError::AccountMalformed { .. })
    ));
    let team = catalog().get("account/list-accounts").unwrap();
    assert!(matches!(
        team.prepare(Some("acct_1"), &Map::new()),
        Err(ValidationError::AccountNotApplicable { .. })
    ));
    assert_eq!(
        team.prepare(None, &Map::new()).unwrap().path,
        "/api/accounts"
    );
}

#[test]
fn every_error_names_the_problem() {
    let e = catalog().get("statistics/get-earnings").unwrap();
    let missing = e.prepare(Some("acct_1"), &Map::new()).unwrap_err();
    assert!(
        missing.to_string().contains("needs `start_date`"),
        "{missing}"
    );
    let unknown = e
        .prepare(
            Some("acct_1"),
            &params(json!({"start_date": "x", "from": "y"})),
        )
        .unwrap_err();
    assert!(
        unknown.to_string().contains("no parameter `from`")
            && unknown.to_string().contains("start_date")
    );
    let not_allowed = e
        .prepare(
            Some("acct_1"),
            &params(json!({"start_date": "x", "type": "all"})),
        )
        .unwrap_err();
    assert!(
        not_allowed.to_string().contains("total | subscribes"),
        "{not_allowed}"
    );
    let m = catalog().get("chat-messages/send-message").unwrap();
    let wrong = m
        .prepare(
            Some("acct_1"),
            &params(json!({"chat_id": 1, "text": "hi", "price": "cheap"})),
        )
        .unwrap_err();
    assert!(
        wrong
            .to_string()
            .contains("`price` must be a number, not \"cheap\""),
        "{wrong}"
    );
    let none = catalog()
        .endpoints()
        .iter()
        .find(|e| e.path.is_none())
        .unwrap();
    assert!(matches!(
        none.prepare(None, &Map::new()),
        Err(ValidationError::NotCallable { .. })
    ));
}

#[test]
fn query_arrays_and_objects_use_brackets() {
    let mut out = Vec::new();
    encode_query("filter", &json!({"total_spent": 100}), &mut out);
    encode_query("ids", &json!([1, 2]), &mut out);
    assert_eq!(
        out,
        vec![
            ("filter[total_spent]".into(), "100".into()),
            ("ids[]".into(), "1".into()),
            ("ids[]".into(), "2".into())
        ]
    );
}

#[test]
fn search_finds_what_agencies_ask_for() {
    let cases = [
        ("earnings this week", "statistics/get-earnings"),
        ("top fans", "fans/list-top-fans"),
        ("top spenders", "fans/list-top-fans"),
        ("send message to fan", "chat-messages/send-message"),
        ("tracking links", "tracking-links/list-tracking-links"),
        ("trial links", "free-trial-links/list-free-trial-links"),
        ("new subscribers", "statistics/get-subscriber-statistics"),
        ("chargebacks", "chargebacks/list-chargebacks"),
        (
            "mass message overview",
            "mass-messaging/get-mass-message-overview",
        ),
        ("mass message stats", "engagement-messages/mass-messages"),
        ("transactions", "transactions/list-transactions"),
        ("payout balance", "payouts/get-account-balances"),
        ("unread chats", "chats/list-chats"),
    ];
    for (query, expected) in cases {
        let found: Vec<&str> = catalog()
            .search(query, 5)
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert!(found.contains(&expected), "{query:?} → {found:?}");
    }
}

#[test]
fn suggestions_for_a_wrong_id() {
    let near = catalog().suggest("statistics/earnings");
    assert!(near.contains(&"statistics/get-earnings"), "{near:?}");
}

#[test]
fn brief_is_compact() {
    let b = catalog().get("fans/list-top-fans").unwrap().brief();
    assert_eq!(b["effect"], "read");
    assert!(b["params"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "by"));
}
