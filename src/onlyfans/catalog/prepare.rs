//! `Endpoint::prepare`: has a model's arguments checked against the catalog
//! (`arguments.rs`) and places each one in the URL (a percent-encoded path segment, or
//! query pairs with bracket names) or in the body.

use super::arguments::{shown, ACCOUNT};
use super::{scalar_text, Endpoint, Method, Param, ParamLocation};
use serde_json::{Map, Value};

/// A validated request with every value in its place, ready to send (or to keep).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PreparedRequest {
    pub method: Method,
    /// Path with every placeholder filled and percent-encoded, e.g. `/api/acct_1/chats/123/messages`.
    pub path: String,
    /// Name/value pairs, not yet URL-encoded; arrays and objects use bracket names.
    pub query: Vec<(String, String)>,
    pub body: Option<Map<String, Value>>,
}

/// Why arguments do not fit an endpoint. Each message names the endpoint and the
/// parameter and says what to send instead, because the model reads it to retry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("`{endpoint}` cannot be called: the catalog has no path for it yet. Tell the person, or use find_endpoints to look for an alternative")]
    NotCallable { endpoint: String },
    #[error("`{endpoint}` needs parameter `{param}` ({kind}: {description}); add it to params")]
    Missing {
        endpoint: String,
        param: String,
        kind: &'static str,
        description: String,
    },
    #[error("`{endpoint}` has no parameter `{param}`; remove it or use one of: {known}")]
    Unknown {
        endpoint: String,
        param: String,
        known: String,
    },
    #[error("`{endpoint}`: parameter `{param}` must be one of {allowed}, not {value}")]
    NotAllowed {
        endpoint: String,
        param: String,
        value: String,
        allowed: String,
    },
    #[error("`{endpoint}`: parameter `{param}` must be {expected}, not {value} ({description})")]
    WrongType {
        endpoint: String,
        param: String,
        expected: &'static str,
        value: String,
        description: String,
    },
    #[error("`{endpoint}`: path parameter `{param}` cannot be {value}; give the id itself")]
    BadPathValue {
        endpoint: String,
        param: String,
        value: String,
    },
    #[error("`{endpoint}` needs `account`: pass the acct_… id of the creator, from list_accounts")]
    AccountMissing { endpoint: String },
    #[error("`{endpoint}`: `account` {value} is not an OnlyFansAPI account id; pass the acct_… id from list_accounts, not a username or a numeric OnlyFans id")]
    AccountMalformed { endpoint: String, value: String },
    #[error("`{endpoint}` is not tied to one account (its path has no {{account}}); leave out `account`")]
    AccountNotApplicable { endpoint: String },
    #[error("`{endpoint}`: `account` was given twice with different values ({first} and {second}); give it once")]
    AccountConflict {
        endpoint: String,
        first: String,
        second: String,
    },
}

impl Endpoint {
    /// Validates the arguments and places each one where the catalog says. `account`
    /// fills `{account}`; when it is `None`, `params["account"]` is used instead, because
    /// models put it in either place.
    pub fn prepare(
        &self,
        account: Option<&str>,
        params: &Map<String, Value>,
    ) -> Result<PreparedRequest, ValidationError> {
        let template = self
            .path
            .as_deref()
            .ok_or_else(|| ValidationError::NotCallable {
                endpoint: self.id.clone(),
            })?;
        let account = self.resolve_account(account, params)?;
        let given = self.expand_brackets(params);
        self.reject_unknown(&given)?;
        let mut path = template.to_string();
        let mut query = Vec::new();
        let mut body = Map::new();
        for param in &self.params {
            let value = if param.location == ParamLocation::Path && param.name == ACCOUNT {
                account.clone().map(Value::String)
            } else {
                // A null is how models say "not this one"; treat it as left out.
                given.get(&param.name).filter(|v| !v.is_null()).cloned()
            };
            let Some(value) = value else {
                if param.required {
                    return Err(ValidationError::Missing {
                        endpoint: self.id.clone(),
                        param: param.name.clone(),
                        kind: param.kind.as_str(),
                        description: param.description.clone(),
                    });
                }
                continue;
            };
            let value = self.check_value(param, &value)?;
            match param.location {
                ParamLocation::Path => {
                    let segment = self.path_segment(param, &value)?;
                    path = path.replace(&format!("{{{}}}", param.name), &segment);
                }
                ParamLocation::Query => encode_query(&param.name, &value, &mut query),
                ParamLocation::Body => {
                    body.insert(param.name.clone(), value);
                }
            }
        }
        let sends_body = matches!(self.method, Method::Post | Method::Put | Method::Patch);
        Ok(PreparedRequest {
            method: self.method,
            path,
            query,
            body: (sends_body || !body.is_empty()).then_some(body),
        })
    }

    /// One percent-encoded path segment. "." and ".." are refused: a URL parser would
    /// resolve them and the request would reach a different endpoint than the one checked.
    fn path_segment(&self, param: &Param, value: &Value) -> Result<String, ValidationError> {
        let text = scalar_text(value);
        if matches!(text.trim(), "" | "." | "..") {
            return Err(ValidationError::BadPathValue {
                endpoint: self.id.clone(),
                param: param.name.clone(),
                value: shown(value),
            });
        }
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        Ok(out)
    }
}

/// Scalars as text; arrays as repeated `name[]`; objects in bracket syntax
/// `name[key]`, the form OnlyFansAPI filters expect. Nulls are left out.
fn encode_query(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Null => {}
        Value::Array(items) => {
            for item in items {
                encode_query(&format!("{name}[]"), item, out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                encode_query(&format!("{name}[{key}]"), item, out);
            }
        }
        scalar => out.push((name.to_string(), scalar_text(scalar))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onlyfans::catalog::Catalog;
    use serde_json::json;

    fn catalog() -> &'static Catalog {
        Catalog::embedded()
    }

    fn endpoint(id: &str) -> &'static Endpoint {
        catalog().get(id).unwrap()
    }

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn prepare_err(id: &str, account: Option<&str>, p: Value) -> ValidationError {
        let err = endpoint(id).prepare(account, &params(p)).unwrap_err();
        assert!(err.to_string().contains(id), "{err}");
        err
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn prepares_a_read_with_query_dates() {
        let p = params(json!({"start_date": "2025-06-01 00:00:00", "type": "Tips"}));
        let r = endpoint("statistics/get-earnings")
            .prepare(Some("acct_1"), &p)
            .unwrap();
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.path, "/api/acct_1/statistics/statements/earnings");
        let expected = [("start_date", "2025-06-01 00:00:00"), ("type", "tips")];
        assert_eq!(r.query, pairs(&expected));
        assert_eq!(r.body, None);
    }

    #[test]
    fn prepares_a_write_with_path_and_body() {
        let p = params(json!({"chat_id": 123, "text": "hi", "price": "15"}));
        let r = endpoint("chat-messages/send-message")
            .prepare(Some("acct_x"), &p)
            .unwrap();
        assert_eq!(
            (r.method, r.path.as_str()),
            (Method::Post, "/api/acct_x/chats/123/messages")
        );
        assert!(r.query.is_empty());
        assert_eq!(r.body, Some(params(json!({"text": "hi", "price": 15}))));
    }

    #[test]
    fn bodies_follow_the_method() {
        let post = endpoint("chats/mark-all-chats-as-read");
        assert_eq!(
            post.prepare(Some("acct_1"), &Map::new()).unwrap().body,
            Some(Map::new())
        );
        let delete = endpoint("tracking-links/remove-tracking-link-tags");
        let with_tags = params(json!({"tracking_link_id": "7", "tags": "vip"}));
        let r = delete.prepare(Some("acct_1"), &with_tags).unwrap();
        assert_eq!(r.body, Some(params(json!({"tags": ["vip"]}))));
        let team = endpoint("account/list-accounts")
            .prepare(None, &Map::new())
            .unwrap();
        assert_eq!((team.path.as_str(), team.body), ("/api/accounts", None));
    }

    #[test]
    fn account_comes_from_either_place_and_is_checked() {
        let e = endpoint("payouts/get-account-balances");
        let from_params = e
            .prepare(None, &params(json!({"account": "acct_9"})))
            .unwrap();
        assert_eq!(from_params.path, "/api/acct_9/payouts/balances");
        let mid = endpoint("analytics-financial/get-profitability-history");
        let r = mid
            .prepare(Some("acct_2"), &params(json!({"months": "6"})))
            .unwrap();
        assert_eq!(
            r.path,
            "/api/analytics/financial/profitability/acct_2/history"
        );
        assert_eq!(r.query, pairs(&[("months", "6")]));
        let id = "payouts/get-account-balances";
        let err = prepare_err(id, None, json!({}));
        assert!(matches!(err, ValidationError::AccountMissing { .. }));
        let err = prepare_err(id, Some("281734905"), json!({}));
        assert!(matches!(err, ValidationError::AccountMalformed { .. }));
        let err = prepare_err(id, None, json!({"account": 281734905}));
        assert!(matches!(err, ValidationError::AccountMalformed { .. }));
        let err = prepare_err(id, Some("acct_1"), json!({"account": "acct_2"}));
        assert!(matches!(err, ValidationError::AccountConflict { .. }));
        let err = prepare_err("account/list-accounts", Some("acct_1"), json!({}));
        assert!(matches!(err, ValidationError::AccountNotApplicable { .. }));
        assert!(err.to_string().contains("leave out `account`"));
    }

    #[test]
    fn path_values_are_encoded_and_checked() {
        let e = endpoint("chat-messages/send-message");
        let p = params(json!({"chat_id": "a b/c?", "text": "hi"}));
        let r = e.prepare(Some("acct_1"), &p).unwrap();
        assert_eq!(r.path, "/api/acct_1/chats/a%20b%2Fc%3F/messages");
        for bad in ["..", ".", " "] {
            let err = prepare_err(e.id.as_str(), Some("acct_1"), json!({"chat_id": bad}));
            assert!(matches!(err, ValidationError::BadPathValue { .. }), "{err}");
            assert!(err.to_string().contains("`chat_id`"));
        }
        let post =
            endpoint("posts/get-post").prepare(Some("acct_1"), &params(json!({"post_id": "42"})));
        assert_eq!(post.unwrap().path, "/api/acct_1/posts/42");
    }

    #[test]
    fn query_arrays_and_objects_use_brackets() {
        let fans = endpoint("fans/list-all-fans");
        let nested = params(json!({"filter": {"total_spent": 100, "online": "1"}, "limit": 20}));
        let r = fans.prepare(Some("acct_1"), &nested).unwrap();
        let expected = [
            ("limit", "20"),
            ("filter[online]", "1"),
            ("filter[total_spent]", "100"),
        ];
        assert_eq!(r.query, pairs(&expected));
        let queue = endpoint("queue/list-queue-items");
        let p = json!({"publishDateStart": "2025-06-01", "publishDateEnd": "2025-06-02",
            "timezone": "UTC", "type": ["chat", "post"]});
        let r = queue.prepare(Some("acct_1"), &params(p)).unwrap();
        assert_eq!(
            r.query[3..],
            pairs(&[("type[]", "chat"), ("type[]", "post")])
        );
        let mut out = Vec::new();
        encode_query("f", &json!({"a": {"b": true}, "n": null}), &mut out);
        assert_eq!(out, pairs(&[("f[a][b]", "true")]));
    }

    #[test]
    fn every_error_names_the_endpoint_the_parameter_and_the_fix() {
        let earnings = "statistics/get-earnings";
        let missing = prepare_err(earnings, Some("acct_1"), json!({})).to_string();
        assert!(
            missing.contains("`start_date`") && missing.contains("add it"),
            "{missing}"
        );
        let unknown = prepare_err(
            earnings,
            Some("acct_1"),
            json!({"start_date": "x", "from": "y"}),
        );
        let text = unknown.to_string();
        assert!(
            text.contains("`from`") && text.contains("start_date, end_date, type"),
            "{text}"
        );
        let enum_err = prepare_err(
            earnings,
            Some("acct_1"),
            json!({"start_date": "x", "type": "all"}),
        );
        assert!(enum_err
            .to_string()
            .contains("`type` must be one of total, subscribes"));
        let send = "chat-messages/send-message";
        let wrong = prepare_err(
            send,
            Some("acct_1"),
            json!({"chat_id": 1, "price": "cheap"}),
        );
        assert!(
            wrong
                .to_string()
                .contains("`price` must be a number, not \"cheap\""),
            "{wrong}"
        );
        let whole = prepare_err("posts/get-post", Some("acct_1"), json!({"post_id": "abc"}));
        assert!(matches!(whole, ValidationError::WrongType { .. }));
        let queue = json!({"publishDateStart": "a", "publishDateEnd": "b", "timezone": "UTC", "type": ["story"]});
        let in_list = prepare_err("queue/list-queue-items", Some("acct_1"), queue);
        assert!(in_list.to_string().contains("chat, post"), "{in_list}");
        let none = prepare_err("settings/get-drm-status", Some("acct_1"), json!({}));
        assert!(matches!(none, ValidationError::NotCallable { .. }));
        assert!(none.to_string().contains("find_endpoints"));
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(500);
        let err = prepare_err("posts/get-post", Some("acct_1"), json!({"post_id": long}));
        assert!(err.to_string().len() < 300, "{err}");
    }
}
