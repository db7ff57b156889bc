//! The checks `Endpoint::prepare` makes of each argument before placing it: which
//! account is meant, that every name is a parameter, and that every value has the
//! parameter's type and is one of its allowed values.

use super::prepare::ValidationError;
use super::{scalar_text, shorten, Endpoint, Param, ParamLocation, ParamType};
use serde_json::{Map, Value};

/// The argument that names the creator account, in the path or in the params.
pub(super) const ACCOUNT: &str = "account";
const SHOWN_VALUE_LIMIT: usize = 60;

impl Endpoint {
    /// `params["account"]` stands for the `{account}` path value unless the endpoint
    /// has a query or body parameter of that name (none does today).
    fn account_in_params(&self) -> bool {
        !self
            .params
            .iter()
            .any(|p| p.name == ACCOUNT && p.location != ParamLocation::Path)
    }

    /// The account the call is for: `account`, else `params["account"]`, checked to be an
    /// `acct_…` id, given once, and given exactly when the path has `{account}`.
    pub(super) fn resolve_account(
        &self,
        given: Option<&str>,
        params: &Map<String, Value>,
    ) -> Result<Option<String>, ValidationError> {
        let endpoint = || self.id.clone();
        let from_params = match params.get(ACCOUNT).filter(|_| self.account_in_params()) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.trim()),
            Some(other) => {
                return Err(ValidationError::AccountMalformed {
                    endpoint: endpoint(),
                    value: shown(other),
                })
            }
        };
        // An empty string is a model's way of leaving it out, as on team endpoints.
        let given = given.map(str::trim).filter(|s| !s.is_empty());
        let from_params = from_params.filter(|s| !s.is_empty());
        let account = match (given, from_params) {
            (Some(first), Some(second)) if first != second => {
                return Err(ValidationError::AccountConflict {
                    endpoint: endpoint(),
                    first: first.to_string(),
                    second: second.to_string(),
                })
            }
            (first, second) => first.or(second),
        };
        match (self.has_account(), account) {
            (true, None) => Err(ValidationError::AccountMissing {
                endpoint: endpoint(),
            }),
            (true, Some(a)) if !is_account_id(a) => Err(ValidationError::AccountMalformed {
                endpoint: endpoint(),
                value: shown(&Value::String(a.to_string())),
            }),
            (false, Some(_)) => Err(ValidationError::AccountNotApplicable {
                endpoint: endpoint(),
            }),
            (_, a) => Ok(a.map(str::to_string)),
        }
    }

    /// Accepts `{"filter": {"total_spent": 100}}` for parameters the catalog declares as
    /// `filter[total_spent]`: models nest them as often as they flatten them.
    pub(super) fn expand_brackets(&self, params: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, value) in params {
            let prefix = format!("{name}[");
            let nested = self.param(name).is_none()
                && self.params.iter().any(|p| p.name.starts_with(&prefix));
            match value {
                Value::Object(inner) if nested => {
                    for (key, v) in inner {
                        out.insert(format!("{name}[{key}]"), v.clone());
                    }
                }
                _ => {
                    out.insert(name.clone(), value.clone());
                }
            }
        }
        out
    }

    /// Refuses the first argument that names no parameter, listing the ones there are.
    pub(super) fn reject_unknown(&self, given: &Map<String, Value>) -> Result<(), ValidationError> {
        let alias = self.account_in_params();
        let Some(name) = given
            .keys()
            .find(|name| !(alias && name.as_str() == ACCOUNT) && self.param(name).is_none())
        else {
            return Ok(());
        };
        let known: Vec<&str> = self
            .params
            .iter()
            .map(|p| p.name.as_str())
            .filter(|n| *n != ACCOUNT)
            .collect();
        Err(ValidationError::Unknown {
            endpoint: self.id.clone(),
            param: name.clone(),
            known: if known.is_empty() {
                "none (it takes no parameters besides account)".to_string()
            } else {
                known.join(", ")
            },
        })
    }

    /// The value as the parameter's type, each item one of its allowed values if it
    /// has a list of them.
    pub(super) fn check_value(
        &self,
        param: &Param,
        value: &Value,
    ) -> Result<Value, ValidationError> {
        let value = coerce(param.kind, value).ok_or_else(|| ValidationError::WrongType {
            endpoint: self.id.clone(),
            param: param.name.clone(),
            expected: param.kind.phrase(),
            value: shown(value),
            description: param.description.clone(),
        })?;
        if param.enum_values.is_empty() {
            return Ok(value);
        }
        match value {
            Value::Array(items) => items
                .iter()
                .map(|item| self.allowed(param, item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            scalar => self.allowed(param, &scalar),
        }
    }

    /// The enum value `value` stands for; a string differing only in case is corrected
    /// rather than refused.
    fn allowed(&self, param: &Param, value: &Value) -> Result<Value, ValidationError> {
        let text = scalar_text(value);
        if param.enum_values.contains(&text) {
            return Ok(value.clone());
        }
        if value.is_string() {
            if let Some(exact) = param
                .enum_values
                .iter()
                .find(|a| a.eq_ignore_ascii_case(&text))
            {
                return Ok(Value::String(exact.clone()));
            }
        }
        Err(ValidationError::NotAllowed {
            endpoint: self.id.clone(),
            param: param.name.clone(),
            value: shown(value),
            allowed: param.enum_values.join(", "),
        })
    }
}

/// OnlyFansAPI account ids look like `acct_` followed by letters, digits, `_` or `-`.
fn is_account_id(text: &str) -> bool {
    text.strip_prefix("acct_").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// Converts only where nothing is lost ("10" → 10 for an integer, 10 → "10" for a
/// string, a single value → a one-item list); anything else is `None`.
fn coerce(kind: ParamType, value: &Value) -> Option<Value> {
    match (kind, value) {
        (ParamType::String, Value::String(_)) => Some(value.clone()),
        (ParamType::String, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(scalar_text(value)))
        }
        (ParamType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(value.clone()),
        (ParamType::Integer, Value::Number(n)) => n.as_f64().and_then(whole).map(Value::from),
        (ParamType::Integer, Value::String(s)) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => Some(Value::from(i)),
                Err(_) => s.parse::<f64>().ok().and_then(whole).map(Value::from),
            }
        }
        (ParamType::Number, Value::Number(_)) => Some(value.clone()),
        (ParamType::Number, Value::String(s)) => {
            let s = s.trim();
            match s.parse::<i64>() {
                Ok(i) => Some(Value::from(i)),
                Err(_) => s
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number),
            }
        }
        (ParamType::Boolean, Value::Bool(_)) => Some(value.clone()),
        (ParamType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (ParamType::Array, Value::Array(_)) => Some(value.clone()),
        (ParamType::Array, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            Some(Value::Array(vec![value.clone()]))
        }
        (ParamType::Object, Value::Object(_)) => Some(value.clone()),
        _ => None,
    }
}

/// `f` as an integer when it is one exactly (10.0, not 10.5 or 1e300).
fn whole(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: beyond it f64 skips integers
    (f.fract() == 0.0 && f.abs() <= LIMIT).then_some(f as i64)
}

/// A value as JSON for an error message, cut short so one huge argument cannot flood
/// the model's context.
pub(super) fn shown(value: &Value) -> String {
    shorten(&value.to_string(), SHOWN_VALUE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coercion_is_lossless_only() {
        assert_eq!(coerce(ParamType::Integer, &json!("10")), Some(json!(10)));
        assert_eq!(coerce(ParamType::Integer, &json!(10.0)), Some(json!(10)));
        assert_eq!(coerce(ParamType::Integer, &json!("abc")), None);
        assert_eq!(coerce(ParamType::Integer, &json!(10.5)), None);
        assert_eq!(coerce(ParamType::String, &json!(10)), Some(json!("10")));
        assert_eq!(
            coerce(ParamType::Boolean, &json!("true")),
            Some(json!(true))
        );
        assert_eq!(coerce(ParamType::Boolean, &json!("yes")), None);
        assert_eq!(coerce(ParamType::Number, &json!("4.99")), Some(json!(4.99)));
        assert_eq!(coerce(ParamType::Array, &json!("x")), Some(json!(["x"])));
        assert_eq!(coerce(ParamType::Object, &json!([1])), None);
    }
}
