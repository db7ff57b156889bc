//! Secrets read from the environment, wrapped so `Debug` and `Display` never print them.

use std::collections::BTreeMap;
use std::fmt;

/// A secret value. Its `Debug` shows only whether it is set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        Secret((!value.is_empty()).then_some(value))
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// The plain value, for the one place that must send it.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "Secret(***)"
        } else {
            "Secret(unset)"
        })
    }
}

/// Secrets, from environment variables only.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub onlyfansapi_api_key: Secret,
    /// The chat platforms' tokens and signing secrets, by the name of the variable each
    /// platform reads (its folder says which).
    pub platform_keys: BTreeMap<String, Secret>,
    pub onlyfansapi_webhook_secret: Secret,
    pub ofauth_webhook_secret: Secret,
    /// Each relay's key, by relay name, read from its `api_key_env`.
    pub relay_keys: BTreeMap<String, Secret>,
    /// Bearer token (and login) of the operations page.
    pub dashboard_token: Secret,
    /// Each model provider's key, read from its `api_key_env`.
    pub provider_keys: BTreeMap<String, Secret>,
    /// Keys of integrations (`[web_search] api_key_env`, `[[mcp]] headers_env`), by the
    /// name of the variable they were read from.
    pub integration_keys: BTreeMap<String, Secret>,
}

impl Secrets {
    /// A platform's secret read from variable `var` (unset when it was not).
    pub fn platform(&self, var: &str) -> Secret {
        self.platform_keys.get(var).cloned().unwrap_or_default()
    }

    /// Reads every secret through `env` (the process environment outside tests).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| env(name).map(Secret::new).unwrap_or_default();
        Secrets {
            onlyfansapi_api_key: get("ONLYFANSAPI_API_KEY"),
            platform_keys: BTreeMap::new(),
            onlyfansapi_webhook_secret: get("ONLYFANSAPI_WEBHOOK_SECRET"),
            ofauth_webhook_secret: get("OFAUTH_WEBHOOK_SECRET"),
            relay_keys: BTreeMap::new(),
            dashboard_token: get("FANOPS_DASHBOARD_TOKEN"),
            provider_keys: BTreeMap::new(),
            integration_keys: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(&s)).contains("very"));
        assert_eq!(format!("{:?}", Secret::new("")), "Secret(unset)");
    }
}
