//! What the model reads of an OnlyFansAPI response: its data without the nulls and empty
//! values (every token of a tool result is paid for on every later step of the turn), and
//! a one-line "more pages" note instead of the `_pagination` block.

use serde_json::{Map, Value};

/// `value` without nulls, empty strings, arrays and objects, at any depth. `false` and `0`
/// stay: they are answers.
pub fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(compact_map(map)),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(compact)
                .filter(|v| !is_empty(v))
                .collect(),
        ),
        other => other,
    }
}

fn compact_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(key, value)| (key, compact(value)))
        .filter(|(_, value)| !is_empty(value))
        .collect()
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// "More pages: call again with offset=10 (and limit=10, filter=unread)." from a
/// `_pagination` block whose `next_page` is set; None on the last page.
pub fn more_pages(pagination: &Value) -> Option<String> {
    let next = pagination.get("next_page").and_then(Value::as_str)?;
    let Ok(url) = url::Url::parse(next) else {
        return Some("More pages exist.".into());
    };
    let params: Vec<String> = url
        .query_pairs()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    // The parameter that moves (an offset, a marker, a cursor) matters most; the others
    // only repeat the request.
    let moving = ["offset", "marker", "first_id", "last_id", "cursor", "page"];
    let (moves, same): (Vec<&String>, Vec<&String>) = params
        .iter()
        .partition(|p| moving.iter().any(|m| p.starts_with(&format!("{m}="))));
    Some(match (moves.is_empty(), same.is_empty()) {
        (true, true) => "More pages exist.".to_string(),
        (true, false) => format!("More pages: call again with {}.", join(&same)),
        (false, true) => format!("More pages: call again with {}.", join(&moves)),
        (false, false) => format!(
            "More pages: call again with {} (and {}).",
            join(&moves),
            join(&same)
        ),
    })
}

fn join(params: &[&String]) -> String {
    params
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_empty_values_go_answers_stay() {
        let data = json!({
            "fan": {"name": "Jake", "displayName": "", "avatar": null, "isBlocked": false, "tips": 0},
            "list": [{"id": 1, "media": []}, {}, null],
            "notes": {},
        });
        assert_eq!(
            compact(data),
            json!({"fan": {"name": "Jake", "isBlocked": false, "tips": 0}, "list": [{"id": 1}]})
        );
    }

    #[test]
    fn the_next_page_becomes_one_sentence() {
        let page = |next: Value| more_pages(&json!({ "next_page": next }));
        assert_eq!(
            page(json!(
                "https://app.onlyfansapi.com/api/a/chats?limit=10&offset=10&filter=unread"
            )),
            Some("More pages: call again with offset=10 (and limit=10, filter=unread).".into())
        );
        assert_eq!(
            page(json!(
                "https://app.onlyfansapi.com/api/a/transactions?marker=1751226000"
            )),
            Some("More pages: call again with marker=1751226000.".into())
        );
        assert_eq!(page(Value::Null), None, "the last page");
        assert_eq!(
            page(json!("/relative?x=1")),
            Some("More pages exist.".into())
        );
    }
}
