//! Web search through Brave, SearXNG or Tavily (`[web_search]`), each search metered in
//! the usage ledger as kind `web_search` at the configured flat price.

use crate::chat::CallTags;
use crate::config::{Config, Secret, WebSearchConfig};
use crate::store::{SharedStore, UsageEntry, UsageSource};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

/// The most results one search returns.
pub const MAX_COUNT: usize = 10;

/// How long a provider may take to answer.
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Brave,
    SearXng,
    Tavily,
}

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "brave" => Some(Provider::Brave),
            "searxng" => Some(Provider::SearXng),
            "tavily" => Some(Provider::Tavily),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Brave => "brave",
            Provider::SearXng => "searxng",
            Provider::Tavily => "tavily",
        }
    }

    fn default_url(self) -> &'static str {
        match self {
            Provider::Brave => "https://api.search.brave.com",
            Provider::SearXng => "http://127.0.0.1:8888",
            Provider::Tavily => "https://api.tavily.com",
        }
    }
}

/// One result: what a person would see on a results page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub title: String,
    pub url: String,
    pub snippet: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WebSearchError {
    #[error("the web search key ({0}) is not set")]
    NoKey(String),
    #[error("the search provider could not be reached: {0}")]
    Unreachable(String),
    #[error("the search provider answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the search provider's answer could not be read: {0}")]
    BadAnswer(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The configured provider, ready to search.
pub struct WebSearch {
    provider: Provider,
    api_url: String,
    key_env: Option<String>,
    key: Secret,
    usd_per_search: f64,
    credits_per_usd: f64,
    http: reqwest::Client,
    store: SharedStore,
}

impl WebSearch {
    /// None when `[web_search]` is absent: the tool is then not offered.
    pub fn from_config(config: &Config, store: SharedStore) -> Option<WebSearch> {
        let ws: &WebSearchConfig = config.web_search.as_ref()?;
        let provider = Provider::parse(&ws.provider)?;
        let key = ws
            .api_key_env
            .as_ref()
            .and_then(|var| config.secrets.integration_keys.get(var))
            .cloned()
            .unwrap_or_default();
        let http = reqwest::Client::builder().timeout(TIMEOUT).build().ok()?;
        Some(WebSearch {
            provider,
            api_url: ws
                .api_url
                .clone()
                .unwrap_or_else(|| provider.default_url().to_string())
                .trim_end_matches('/')
                .to_string(),
            key_env: ws.api_key_env.clone(),
            key,
            usd_per_search: ws.usd_per_search,
            credits_per_usd: config.llm.credits_per_usd,
            http,
            store,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The one place a web search is made and billed: asks the provider for `count`
    /// results and records the search in the usage ledger for `tags`. A check that
    /// must happen before any search (a spending limit) goes at the top of this function.
    pub async fn search(
        &self,
        query: &str,
        count: usize,
        tags: &CallTags,
    ) -> Result<Vec<Hit>, WebSearchError> {
        let count = count.clamp(1, MAX_COUNT);
        let key = self.key.expose();
        if key.is_none() && self.provider != Provider::SearXng {
            return Err(WebSearchError::NoKey(
                self.key_env.clone().unwrap_or_default(),
            ));
        }
        let request = self.request(query, count, key);
        let response = request
            .send()
            .await
            .map_err(|e| WebSearchError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect();
            return Err(WebSearchError::Status {
                status: status.as_u16(),
                body,
            });
        }
        self.record(tags).await?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| WebSearchError::BadAnswer(e.without_url().to_string()))?;
        let mut hits = hits(self.provider, &body);
        hits.truncate(count);
        Ok(hits)
    }

    /// The provider's search request for `count` results, with its key where it wants it.
    fn request(&self, query: &str, count: usize, key: Option<&str>) -> reqwest::RequestBuilder {
        match self.provider {
            Provider::Brave => self
                .http
                .get(format!("{}/res/v1/web/search", self.api_url))
                .query(&[("q", query), ("count", &count.to_string())])
                .header("Accept", "application/json")
                .header("X-Subscription-Token", key.unwrap_or_default()),
            Provider::SearXng => {
                let request = self
                    .http
                    .get(format!("{}/search", self.api_url))
                    .query(&[("q", query), ("format", "json")]);
                match key {
                    Some(key) => request.bearer_auth(key),
                    None => request,
                }
            }
            Provider::Tavily => self
                .http
                .post(format!("{}/search", self.api_url))
                .bearer_auth(key.unwrap_or_default())
                .json(&json!({"query": query, "max_results": count})),
        }
    }

    /// Records one search, at the provider's flat price, in the usage ledger.
    async fn record(&self, tags: &CallTags) -> Result<(), WebSearchError> {
        let entry = UsageEntry {
            at: chrono::Utc::now(),
            platform: tags.platform.clone(),
            connection: tags.connection.clone(),
            user: tags.user.clone(),
            kind: "web_search".into(),
            task: tags.task.clone(),
            conversation: tags.conversation.clone(),
            source: UsageSource::WebSearch,
            endpoint: Some(format!("web_search:{}", self.provider.as_str())),
            credits: self.usd_per_search * self.credits_per_usd,
            cost_usd: self.usd_per_search,
            ..UsageEntry::default()
        };
        self.store.record_usage(&entry).await?;
        Ok(())
    }
}

/// The results of a provider's answer, in its own shape.
fn hits(provider: Provider, body: &Value) -> Vec<Hit> {
    let (list, snippet) = match provider {
        Provider::Brave => (&body["web"]["results"], "description"),
        Provider::SearXng | Provider::Tavily => (&body["results"], "content"),
    };
    let text = |v: &Value, key: &str| v[key].as_str().unwrap_or_default().trim().to_string();
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| Hit {
                    title: text(item, "title"),
                    url: text(item, "url"),
                    snippet: text(item, snippet),
                })
                .filter(|h| !h.url.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_provider_shape() {
        let brave = json!({"web": {"results": [{"title": "A", "url": "https://a", "description": "about a"}]}});
        assert_eq!(
            hits(Provider::Brave, &brave),
            vec![Hit {
                title: "A".into(),
                url: "https://a".into(),
                snippet: "about a".into()
            }]
        );
        let other = json!({"results": [{"title": "B", "url": "https://b", "content": "about b"}, {"title": "no url"}]});
        assert_eq!(hits(Provider::SearXng, &other).len(), 1);
        assert_eq!(hits(Provider::Tavily, &other)[0].snippet, "about b");
        assert!(hits(Provider::Brave, &json!({"error": "x"})).is_empty());
    }
}
