//! The event payload parsers: any JSON at all, from any source, gives an event or a plain
//! error and never a panic; every shipped example payload parses into its kind; amounts
//! are read only from numbers and dollar strings.

use chrono::Utc;
use fanops::events::normalize;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("$5.00"),
            Just("tips.received"),
            Just("messages.received"),
            Just("accounts.session_expired"),
            Just("connection.expired"),
            Just("api2_chat_message"),
            Just("tip"),
            Just("<p>hi</p>")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("event".to_string()),
            Just("payload".to_string()),
            Just("account_id".to_string()),
            Just("type".to_string()),
            Just("json".to_string()),
            Just("data".to_string()),
            Just("price".to_string()),
            Just("amount".to_string()),
            Just("isTip".to_string()),
            Just("fromUser".to_string()),
            Just("replacePairs".to_string()),
            Just("{AMOUNT}".to_string()),
            Just("createdAt".to_string()),
            Just("id".to_string()),
            Just("text".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn no_payload_makes_a_parser_panic(value in json()) {
        let raw = value.to_string();
        let now = Utc::now();
        for event in [
            normalize::onlyfansapi(&value, &raw, now),
            normalize::ofauth(&value, &raw, now),
            normalize::socket_frame("onlyfans-api-ai", &value, &raw, now),
            normalize::betterfans(&value, &raw, now),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(amount) = event.fields.get("amount") {
                let amount = amount.as_f64().unwrap();
                prop_assert!(amount.is_finite() && amount >= 0.0);
            }
            if let Some(Value::String(text)) = event.fields.get("text") {
                prop_assert!(!text.contains('<') || !text.contains('>') || !text.contains("</"));
                prop_assert!(!text.contains('\n'));
            }
        }
    }

    #[test]
    fn amounts_come_only_from_numbers_and_dollar_strings(cents in 0u64..10_000_000, words in "[a-z ]{0,20}") {
        let dollars = cents as f64 / 100.0;
        prop_assert_eq!(normalize::parse_usd(&format!("${dollars:.2}")), Some((dollars * 100.0).round() / 100.0));
        prop_assert_eq!(normalize::parse_usd(&format!("{words} ${dollars:.2}!")), None);
    }
}

#[test]
fn every_example_payload_parses_into_its_kind() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/support/fixtures/events");
    let expected = [
        ("accounts.authentication_failed.json", "account_status"),
        ("accounts.connected.json", "account_status"),
        ("accounts.face_otp_required.json", "account_status"),
        ("accounts.otp_code_required.json", "account_status"),
        ("accounts.reconnected.json", "account_status"),
        ("accounts.session_expired.json", "account_status"),
        ("messages.ppv.unlocked.json", "ppv_purchase"),
        ("messages.received.json", "message_received"),
        ("messages.sent.json", "message_sent"),
        ("posts.liked.json", "post_liked"),
        ("subscriptions.new.json", "new_subscriber"),
        ("users.typing.json", "typing"),
    ];
    let now = Utc::now();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let raw = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&raw).unwrap();
        let event = if name.starts_with("ofauth.") {
            normalize::ofauth(&value, &raw, now).unwrap()
        } else {
            let event = normalize::onlyfansapi(&value, &raw, now).unwrap();
            assert!(normalize::onlyfansapi_known(&event.name), "{name}");
            let (_, kind) = expected.iter().find(|(f, _)| *f == name).unwrap();
            assert_eq!(event.kind.as_str(), *kind, "{name}");
            assert_eq!(event.account.as_deref(), Some("acct_123"));
            event
        };
        seen += 1;
        if name == "messages.ppv.unlocked.json" {
            assert_eq!(event.fields["amount"], 5.0);
            assert_eq!(
                event.fields["text"],
                "has purchased your message for $5.00!"
            );
            assert_eq!(event.fields["fan_username"], "username");
        }
        if name == "accounts.session_expired.json" {
            assert_eq!(event.fields["state"], "session_expired");
        }
        if name == "ofauth.api2_chat_message.json" {
            assert_eq!(event.kind.as_str(), "message_received");
            assert_eq!(event.account.as_deref(), Some("user_456"));
            assert_eq!(event.fields["fan_name"], "Jose Rana");
        }
    }
    assert_eq!(seen, expected.len() + 1);
}
