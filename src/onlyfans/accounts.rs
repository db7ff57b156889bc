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

/// A name that is not the id of a connected account; it lists the connected ones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct NotConnected {
    pub named: String,
    pub connected: Vec<Account>,
}

impl NotConnected {
    fn describe(&self) -> String {
        let named = self.named.trim_start_matches('@');
        let key = named.to_lowercase();
        let by_name = self
            .connected
            .iter()
            .find(|a| a.username.to_lowercase() == key || a.display_name.to_lowercase() == key);
        let problem = match by_name {
            Some(a) => format!(
                "`{}` names {} but is not an account id: use `{}`",
                self.named,
                a.label(),
                a.id
            ),
            None => format!("no connected account has the id `{}`", self.named),
        };
        let list: Vec<String> = self
            .connected
            .iter()
            .map(|a| match a.username.as_str() {
                "" => a.id.clone(),
                username => format!("{} (@{username})", a.id),
            })
            .collect();
        let list = if list.is_empty() {
            "none".to_string()
        } else {
            list.join(", ")
        };
        format!("{problem}. Connected accounts: {list}")
    }
}

/// The connected account whose id is `id`.
pub fn connected<'a>(accounts: &'a [Account], id: &str) -> Result<&'a Account, NotConnected> {
    accounts
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| NotConnected {
            named: id.to_string(),
            connected: accounts.to_vec(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, username: &str, name: &str) -> Account {
        Account {
            id: id.into(),
            username: username.into(),
            display_name: name.into(),
            is_authenticated: true,
        }
    }

    #[test]
    fn an_unknown_account_is_refused_with_the_connected_ones() {
        let accounts = [
            account("acct_1", "lunastarr", "Luna (main)"),
            account("acct_2", "", "Mia agency"),
        ];
        assert_eq!(
            connected(&accounts, "acct_1").unwrap().username,
            "lunastarr"
        );
        let unknown = connected(&accounts, "acct_nope").unwrap_err().to_string();
        assert_eq!(
            unknown,
            "no connected account has the id `acct_nope`. Connected accounts: acct_1 (@lunastarr), acct_2"
        );
        let by_name = connected(&accounts, "@LunaStarr").unwrap_err().to_string();
        assert!(
            by_name.starts_with("`@LunaStarr` names Luna (main) (@lunastarr) but is not an account id: use `acct_1`"),
            "{by_name}"
        );
        let none = connected(&[], "acct_1").unwrap_err().to_string();
        assert!(none.ends_with("Connected accounts: none"), "{none}");
    }
}
