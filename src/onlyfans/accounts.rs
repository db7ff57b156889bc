//! The creator accounts connected to the team's key, cached briefly.

use super::catalog::Catalog;
use super::client::{ApiError, OnlyFansClient};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One connected creator account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    /// OnlyFansAPI id, `acct_…`.
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub is_authenticated: bool,
}

impl Account {
    /// `Luna (main) (@lunastarr)`.
    pub fn label(&self) -> String {
        if self.username.is_empty() {
            self.display_name.clone()
        } else {
            format!("{} (@{})", self.display_name, self.username)
        }
    }

    fn from_json(v: &Value) -> Option<Account> {
        let id = v.get("id")?.as_str()?.to_string();
        let str_at = |ptr: &str| {
            v.pointer(ptr)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let username = Some(str_at("/onlyfans_username"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| str_at("/onlyfans_user_data/username"));
        let display_name = Some(str_at("/display_name"))
            .filter(|s| !s.is_empty())
            .or_else(|| Some(str_at("/onlyfans_user_data/name")).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| id.clone());
        Some(Account {
            id,
            username,
            display_name,
            is_authenticated: v
                .get("is_authenticated")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        })
    }
}

/// Reuses the account list for `ttl`; concurrent callers share one refresh.
pub struct AccountsCache {
    ttl: Duration,
    slot: Mutex<Option<(Instant, Arc<Vec<Account>>)>>,
}

impl AccountsCache {
    pub fn new(ttl: Duration) -> Self {
        AccountsCache {
            ttl,
            slot: Mutex::new(None),
        }
    }

    /// The accounts, and the API credits spent when this call fetched them (None when cached).
    pub async fn get(
        &self,
        client: &OnlyFansClient,
    ) -> Result<(Arc<Vec<Account>>, Option<f64>), ApiError> {
        let mut slot = self.slot.lock().await;
        if let Some((at, accounts)) = slot.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok((accounts.clone(), None));
            }
        }
        let endpoint = Catalog::embedded()
            .get(LIST_ACCOUNTS)
            .expect("the embedded catalog has account/list-accounts");
        let request = endpoint.prepare(None, &serde_json::Map::new())?;
        let response = client.send(endpoint, &request, None).await?;
        let list: Vec<Account> = response
            .data
            .as_array()
            .map(|items| items.iter().filter_map(Account::from_json).collect())
            .unwrap_or_default();
        let accounts = Arc::new(list);
        *slot = Some((Instant::now(), accounts.clone()));
        Ok((accounts, Some(response.credits_used)))
    }

    /// Forgets the cached list (after a connect/disconnect).
    pub async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }
}

pub const LIST_ACCOUNTS: &str = "account/list-accounts";
