//! The OnlyFansAPI endpoint catalog, embedded in the binary (`data/onlyfansapi-catalog.json`,
//! see `data/README.md`): what exists, how to find it (`search.rs`) and how to turn a
//! model's arguments into a request (`prepare.rs`, after the checks of `arguments.rs`).
//!
//! Validation happens before anything is sent, so that a malformed call costs no credits,
//! never waits for a confirmation it cannot use, and comes back to the model with a
//! message precise enough to fix the call on the next try.

mod arguments;
mod prepare;
mod search;

pub use prepare::{PreparedRequest, ValidationError};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// Whether calling an endpoint changes anything; a write waits for a person's confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamLocation {
    Path,
    Query,
    Body,
}

impl ParamLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Body => "body",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// How an error message names what was expected.
    fn phrase(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Integer => "a whole number",
            ParamType::Number => "a number",
            ParamType::Boolean => "true or false",
            ParamType::Array => "a list",
            ParamType::Object => "an object of name → value",
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
    /// Allowed values as text: the catalog has numeric enums too (`filter[online]`: 1, 0),
    /// and text is what both a query string and an error message need.
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

const NOTES_LIMIT: usize = 300;

#[derive(Deserialize)]
struct CatalogFile {
    endpoints: Vec<Endpoint>,
}

pub struct Catalog {
    endpoints: Vec<Endpoint>,
    by_id: HashMap<String, usize>,
    docs: Vec<search::Doc>,
}

const EMBEDDED: &str = include_str!("../../data/onlyfansapi-catalog.json");

impl Catalog {
    /// The catalog compiled into the binary, parsed on first use.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            Catalog::from_json(EMBEDDED).expect("the embedded catalog is valid (unit-tested)")
        })
    }

    /// Parses a catalog file. Beyond the JSON shape it refuses duplicate ids and paths
    /// whose placeholders and path parameters disagree, so `prepare` can never send a
    /// literal `{chat_id}`.
    pub fn from_json(text: &str) -> Result<Catalog, serde_json::Error> {
        let file: CatalogFile = serde_json::from_str(text)?;
        let mut by_id = HashMap::new();
        for (i, endpoint) in file.endpoints.iter().enumerate() {
            if by_id.insert(endpoint.id.clone(), i).is_some() {
                return Err(invalid(format!("duplicate endpoint id `{}`", endpoint.id)));
            }
            endpoint.check_path_params().map_err(invalid)?;
        }
        let docs = file.endpoints.iter().map(search::Doc::new).collect();
        Ok(Catalog {
            endpoints: file.endpoints,
            by_id,
            docs,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Endpoint> {
        self.by_id.get(id).map(|i| &self.endpoints[*i])
    }

    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The endpoints that best match plain words, best first; see `search.rs`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Endpoint> {
        search::rank(&self.endpoints, &self.docs, query, limit)
    }

    /// Up to three ids close to an unknown one, for "did you mean". Spelling comes first
    /// (a typo in a real id), then meaning (an id made up from the right words).
    pub fn suggest(&self, unknown_id: &str) -> Vec<&str> {
        let wanted = unknown_id.trim().to_lowercase();
        let budget = (wanted.chars().count() / 4).max(2);
        let mut near: Vec<(usize, &str)> = self
            .endpoints
            .iter()
            .map(|e| (edit_distance(&wanted, &e.id), e.id.as_str()))
            .filter(|(d, _)| *d <= budget)
            .collect();
        near.sort();
        let mut out: Vec<&str> = near.into_iter().map(|(_, id)| id).collect();
        let words = wanted.replace(['/', '-', '_'], " ");
        for endpoint in self.search(&words, 3) {
            if !out.contains(&endpoint.id.as_str()) {
                out.push(&endpoint.id);
            }
        }
        out.truncate(3);
        out
    }
}

fn invalid(message: String) -> serde_json::Error {
    <serde_json::Error as serde::de::Error>::custom(message)
}

/// Levenshtein distance over characters; ids are short, so the quadratic cost is nothing.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

impl Endpoint {
    /// Whether the path is per creator account (`{account}` anywhere in it).
    pub fn has_account(&self) -> bool {
        self.path
            .as_deref()
            .is_some_and(|p| p.contains("{account}"))
    }

    fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    fn check_path_params(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let placeholders: Vec<&str> = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        for name in &placeholders {
            let declared = self.param(name);
            if !declared.is_some_and(|p| p.location == ParamLocation::Path && p.required) {
                return Err(format!(
                    "{}: `{{{name}}}` is not a required path parameter",
                    self.id
                ));
            }
        }
        match self
            .params
            .iter()
            .find(|p| p.location == ParamLocation::Path && !placeholders.contains(&p.name.as_str()))
        {
            Some(p) => Err(format!(
                "{}: path parameter `{}` is not in the path",
                self.id, p.name
            )),
            None => Ok(()),
        }
    }

    /// What the model needs to call the endpoint, compactly.
    pub fn brief(&self) -> Value {
        let params: Vec<Value> = self
            .params
            .iter()
            .map(|p| {
                let mut v = serde_json::json!({
                    "name": p.name,
                    "in": p.location.as_str(),
                    "type": p.kind.as_str(),
                    "required": p.required,
                });
                if !p.enum_values.is_empty() {
                    v["enum"] = serde_json::json!(p.enum_values);
                }
                v["description"] = Value::String(p.description.clone());
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
            out["notes"] = Value::String(shorten(notes, NOTES_LIMIT));
        }
        if self.path.is_none() {
            out["callable"] = Value::Bool(false);
        }
        out
    }
}

fn enum_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let values: Vec<Value> = Deserialize::deserialize(d)?;
    Ok(values.iter().map(scalar_text).collect())
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// At most about `limit` characters, cut at a word boundary when there is one nearby.
fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit).collect();
    let at_word = match cut.rfind(' ') {
        Some(i) if i > limit / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end_matches([' ', ',', ';', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> &'static Catalog {
        Catalog::embedded()
    }

    fn endpoint(id: &str) -> &'static Endpoint {
        catalog().get(id).unwrap()
    }

    #[test]
    fn embedded_catalog_counts() {
        let all = catalog().endpoints();
        let count = |f: fn(&Endpoint) -> bool| all.iter().filter(|e| f(e)).count();
        assert_eq!(all.len(), 278);
        assert_eq!(count(|e| e.path.is_some()), 266);
        assert_eq!(count(|e| e.effect == Effect::Read), 149);
        assert_eq!(count(|e| e.effect == Effect::Write), 129);
    }

    #[test]
    fn every_path_parameter_is_declared() {
        for e in catalog().endpoints() {
            assert_eq!(e.check_path_params(), Ok(()));
            let Some(path) = &e.path else { continue };
            for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                assert!(e.param(name).is_some(), "{}: {name}", e.id);
            }
        }
        let bad = r#"{"endpoints":[{"id":"x/y","title":"Y","method":"GET","path":"/api/{account}/y/{id}",
            "group":"X","summary":"s","effect":"read","params":[{"name":"account","in":"path","type":"string","required":true}]}]}"#;
        assert!(Catalog::from_json(bad).is_err());
    }

    #[test]
    fn suggestions_for_a_wrong_id() {
        let near = catalog().suggest("statistics/earnings");
        assert!(near.contains(&"statistics/get-earnings"), "{near:?}");
        let typo = catalog().suggest("statstics/get-earnngs");
        assert_eq!(typo.first(), Some(&"statistics/get-earnings"));
        let words = catalog().suggest("list-top-fans");
        assert!(words.contains(&"fans/list-top-fans"), "{words:?}");
        assert!(catalog().suggest("zzzz").len() <= 3);
    }

    #[test]
    fn brief_is_compact_and_flags_uncallable_endpoints() {
        let b = endpoint("fans/list-top-fans").brief();
        assert_eq!(
            (b["effect"].as_str(), b["method"].as_str()),
            (Some("read"), Some("GET"))
        );
        let by = b["params"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "by")
            .unwrap();
        assert_eq!(by["in"], "query");
        assert!(by["enum"].as_array().unwrap().contains(&json!("tips")));
        assert!(b.get("callable").is_none());
        let none = endpoint("settings/get-drm-status").brief();
        assert_eq!(
            (none["callable"].clone(), none["path"].clone()),
            (json!(false), Value::Null)
        );
        for e in catalog().endpoints() {
            let notes = e.brief()["notes"]
                .as_str()
                .unwrap_or_default()
                .chars()
                .count();
            assert!(notes <= NOTES_LIMIT + 1, "{}", e.id);
        }
    }
}
