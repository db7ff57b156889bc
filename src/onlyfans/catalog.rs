//! The OnlyFansAPI endpoint catalog, embedded in the binary (`data/onlyfansapi-catalog.json`,
//! see `data/README.md`), and the validation that turns a model's arguments into a request.

mod search;

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether calling an endpoint changes anything (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Read,
    Write,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Write => "write",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array => "array",
            ParamType::Object => "object",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Param {
    pub name: String,
    #[serde(rename = "in")]
    pub location: ParamLocation,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
    /// Allowed values, as text (the catalog has string and numeric enums).
    #[serde(default, rename = "enum", deserialize_with = "enum_text")]
    pub enum_values: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub title: String,
    pub method: Method,
    pub path: Option<String>,
    pub group: String,
    pub summary: String,
    pub effect: Effect,
    #[serde(default)]
    pub params: Vec<Param>,
    #[serde(default)]
    pub pagination: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A request ready to send: everything in its place.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Map<String, Value>>,
}

/// Why arguments do not fit an endpoint; every message says how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("`{endpoint}` has no known path yet, so it cannot be called; use find_endpoints for an alternative")]
    NotCallable { endpoint: String },
    #[error("`{endpoint}` needs `{param}` ({kind}): {description}")]
    Missing {
        endpoint: String,
        param: String,
        kind: &'static str,
        description: String,
    },
    #[error("`{endpoint}` has no parameter `{param}`; it takes: {known}")]
    Unknown {
        endpoint: String,
        param: String,
        known: String,
    },
    #[error("`{endpoint}`: `{param}` must be one of {allowed}, not {value}")]
    NotAllowed {
        endpoint: String,
        param: String,
        value: String,
        allowed: String,
    },
    #[error("`{endpoint}`: `{param}` must be {expected}, not {value}")]
    WrongType {
        endpoint: String,
        param: String,
        expected: &'static str,
        value: String,
    },
    #[error("`{endpoint}` needs `account`: an acct_… id from list_accounts")]
    AccountMissing { endpoint: String },
    #[error("`{endpoint}`: account `{value}` is not an OnlyFansAPI account id (acct_…); get ids from list_accounts")]
    AccountMalformed { endpoint: String, value: String },
    #[error("`{endpoint}` is not per-account; leave out `account`")]
    AccountNotApplicable { endpoint: String },
}

#[derive(Deserialize)]
struct CatalogFile {
    endpoints: Vec<Endpoint>,
}

pub struct Catalog {
    endpoints: Vec<Endpoint>,
    by_id: HashMap<String, usize>,
}

const EMBEDDED: &str = include_str!("../../data/onlyfansapi-catalog.json");

impl Catalog {
    /// The catalog compiled into the binary, parsed once.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_json(EMBEDDED).expect("the embedded catalog is valid (unit-tested)")
        })
    }

    pub fn from_json(text: &str) -> Result<Catalog, serde_json::Error> {
        let file: CatalogFile = serde_json::from_str(text)?;
        let by_id = file
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        Ok(Catalog {
            endpoints: file.endpoints,
            by_id,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Endpoint> {
        self.by_id.get(id).map(|i| &self.endpoints[*i])
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoints that best match plain words, callable ones first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Endpoint> {
        search::rank(&self.endpoints, query, limit)
    }

    /// Up to three ids close to an unknown one, for "did you mean".
    pub fn suggest(&self, unknown: &str) -> Vec<&str> {
        let words = unknown.replace(['/', '-', '_'], " ");
        self.search(&words, 3)
            .into_iter()
            .map(|e| e.id.as_str())
            .collect()
    }
}

impl Endpoint {
    pub fn has_account(&self) -> bool {
        self.path
            .as_deref()
            .is_some_and(|p| p.contains("{account}"))
    }

    /// What the model needs to call it, compactly.
    pub fn brief(&self) -> Value {
        let params: Vec<Value> = self
            .params
            .iter()
            .map(|p| {
                let mut v = serde_json::json!({
                    "name": p.name,
                    "in": match p.location { ParamLocation::Path => "path", ParamLocation::Query => "query", ParamLocation::Body => "body" },
                    "type": p.kind.as_str(),
                    "required": p.required,
                    "description": p.description,
                });
                if !p.enum_values.is_empty() {
                    v["enum"] = serde_json::json!(p.enum_values);
                }
                v
            })
            .collect();
        let mut out = serde_json::json!({
            "id": self.id,
            "method": self.method.as_str(),
            "path": self.path,
            "effect": self.effect.as_str(),
            "summary": self.summary,
            "params": params,
        });
        if let Some(notes) = &self.notes {
            let short: String = notes.chars().take(300).collect();
            out["notes"] = Value::String(if short.len() < notes.len() {
                format!("{short}…")
            } else {
                short
            });
        }
        if self.path.is_none() {
            out["callable"] = Value::Bool(false);
        }
        out
    }

    /// Validates arguments and places each one where the catalog says.
    pub fn prepare(
        &self,
        account: Option<&str>,
        params: &Map<String, Value>,
    ) -> Result<PreparedRequest, ValidationError> {
        let err_id = || self.id.clone();
        let template = self
            .path
            .as_deref()
            .ok_or_else(|| ValidationError::NotCallable { endpoint: err_id() })?;
        let account = self.account(account, params)?;
        for name in params.keys() {
            let declared = self.params.iter().any(|p| &p.name == name);
            let account_alias = name == "account" && self.has_account();
            if !(declared || account_alias) {
                let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                return Err(ValidationError::Unknown {
                    endpoint: err_id(),
                    param: name.clone(),
                    known: if known.is_empty() {
                        "nothing".into()
                    } else {
                        known.join(", ")
                    },
                });
            }
        }
        let mut path = template.to_string();
        let mut query = Vec::new();
        let mut body = Map::new();
        for param in &self.params {
            let value = if param.name == "account" && param.location == ParamLocation::Path {
                account.clone().map(Value::String)
            } else {
                params.get(&param.name).filter(|v| !v.is_null()).cloned()
            };
            let Some(value) = value else {
                if param.required {
                    return Err(ValidationError::Missing {
                        endpoint: err_id(),
                        param: param.name.clone(),
                        kind: param.kind.as_str(),
                        description: param.description.clone(),
                    });
                }
                continue;
            };
            let value = self.coerce(param, value)?;
            match param.location {
                ParamLocation::Path => {
                    let text = scalar_text(&value);
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                    path =
                        path.replace(&format!("{{{}}}", param.name), &encoded.replace('+', "%20"));
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

    fn account(
        &self,
        given: Option<&str>,
        params: &Map<String, Value>,
    ) -> Result<Option<String>, ValidationError> {
        let given = given.map(str::to_string).or_else(|| {
            params
                .get("account")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match (self.has_account(), given) {
            (true, None) => Err(ValidationError::AccountMissing {
                endpoint: self.id.clone(),
            }),
            (true, Some(a)) if !a.starts_with("acct_") || a.len() < 6 => {
                Err(ValidationError::AccountMalformed {
                    endpoint: self.id.clone(),
                    value: a,
                })
            }
            (true, Some(a)) => Ok(Some(a)),
            (false, Some(_)) => Err(ValidationError::AccountNotApplicable {
                endpoint: self.id.clone(),
            }),
            (false, None) => Ok(None),
        }
    }

    /// Accepts lossless conversions ("10" for an integer, 10 for a string); refuses the rest.
    fn coerce(&self, param: &Param, value: Value) -> Result<Value, ValidationError> {
        let wrong = |expected: &'static str, value: &Value| ValidationError::WrongType {
            endpoint: self.id.clone(),
            param: param.name.clone(),
            expected,
            value: value.to_string(),
        };
        let value = match (param.kind, value) {
            (ParamType::String, Value::String(s)) => Value::String(s),
            (ParamType::String, v @ (Value::Number(_) | Value::Bool(_))) => {
                Value::String(scalar_text(&v))
            }
            (ParamType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Value::Number(n),
            (ParamType::Integer, Value::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Value::from(s.trim().parse::<i64>().unwrap_or_default())
            }
            (ParamType::Number, Value::Number(n)) => Value::Number(n),
            (ParamType::Number, Value::String(s))
                if s.trim().parse::<f64>().is_ok_and(f64::is_finite) =>
            {
                serde_json::Number::from_f64(s.trim().parse().unwrap_or_default())
                    .map_or(Value::Null, Value::Number)
            }
            (ParamType::Boolean, Value::Bool(b)) => Value::Bool(b),
            (ParamType::Boolean, Value::String(s)) if s == "true" || s == "false" => {
                Value::Bool(s == "true")
            }
            (ParamType::Array, Value::Array(a)) => Value::Array(a),
            (ParamType::Array, v @ (Value::String(_) | Value::Number(_))) => Value::Array(vec![v]),
            (ParamType::Object, Value::Object(o)) => Value::Object(o),
            (kind, v) => return Err(wrong(type_phrase(kind), &v)),
        };
        if !param.enum_values.is_empty() {
            let text = scalar_text(&value);
            if !param.enum_values.iter().any(|allowed| allowed == &text) {
                return Err(ValidationError::NotAllowed {
                    endpoint: self.id.clone(),
                    param: param.name.clone(),
                    value: value.to_string(),
                    allowed: param.enum_values.join(" | "),
                });
            }
        }
        Ok(value)
    }
}

fn enum_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values: Vec<Value> = Deserialize::deserialize(d)?;
    Ok(values.iter().map(scalar_text).collect())
}

fn type_phrase(kind: ParamType) -> &'static str {
    match kind {
        ParamType::String => "a string",
        ParamType::Integer => "a whole number",
        ParamType::Number => "a number",
        ParamType::Boolean => "true or false",
        ParamType::Array => "a list",
        ParamType::Object => "an object of name → value",
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Scalars as-is, arrays as repeated `name[]`, objects in bracket syntax `name[key]`.
fn encode_query(name: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Array(items) => {
            for item in items {
                out.push((format!("{name}[]"), scalar_text(item)));
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
mod tests;
