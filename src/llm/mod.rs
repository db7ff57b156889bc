//! Model calls through any OpenAI-compatible endpoint (async-openai, bring-your-own types
//! so that lenient providers work), with per-alias prices. Every call is metered into the
//! usage ledger before its reply is returned.

mod wire;

pub use crate::chat::CallTags;
pub use wire::{ChatMessage, FunctionCall, ToolCall, ToolSpec};

use crate::config::{Config, ModelConfig};
use crate::store::{SharedStore, UsageEntry, UsageSource};
use async_openai::{config::OpenAIConfig, Client};
use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("unknown model alias `{alias}` (configured: {known})")]
    UnknownModel { alias: String, known: String },
    #[error("the model provider failed: {0}")]
    Provider(String),
    #[error("the model returned no choices")]
    Empty,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the model said.
#[derive(Debug, Clone, Default)]
pub struct ModelReply {
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: TokenUsage,
    pub alias: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TokenUsage {
    pub prompt: i64,
    pub completion: i64,
    pub cached: i64,
}

/// Prices of one alias, US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prices {
    pub input: f64,
    pub output: f64,
    pub cached_input: f64,
}

impl Prices {
    pub fn cost_usd(&self, usage: TokenUsage) -> f64 {
        let uncached = (usage.prompt - usage.cached).max(0) as f64;
        (uncached * self.input
            + usage.cached as f64 * self.cached_input
            + usage.completion as f64 * self.output)
            / 1_000_000.0
    }
}

struct ModelEntry {
    client: Client<OpenAIConfig>,
    id: String,
    prices: Prices,
}

/// All configured model aliases.
pub struct Llm {
    models: HashMap<String, ModelEntry>,
    default_alias: String,
    credits_per_usd: f64,
    ledger: SharedStore,
}

impl Llm {
    /// Builds one client per alias. The config was validated: every alias has prices.
    pub fn new(config: &Config, ledger: SharedStore) -> Result<Llm, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| LlmError::Provider(e.to_string()))?;
        let mut models = HashMap::new();
        for (alias, model) in &config.llm.models {
            let provider = config.llm.providers.get(&model.provider).ok_or_else(|| {
                LlmError::Provider(format!(
                    "model `{alias}` uses unknown provider `{}`",
                    model.provider
                ))
            })?;
            let key = config
                .secrets
                .provider_keys
                .get(&model.provider)
                .and_then(|k| k.expose());
            let openai = OpenAIConfig::new()
                .with_api_base(provider.base_url.trim_end_matches('/'))
                .with_api_key(key.unwrap_or_default());
            let client = Client::with_config(openai).with_http_client(http.clone());
            let entry = ModelEntry {
                client,
                id: model.id.clone(),
                prices: prices_of(alias, model)?,
            };
            models.insert(alias.clone(), entry);
        }
        Ok(Llm {
            models,
            default_alias: config.llm.default_model.clone(),
            credits_per_usd: config.llm.credits_per_usd,
            ledger,
        })
    }

    pub fn default_alias(&self) -> &str {
        &self.default_alias
    }

    /// Checks an alias (None = the default) and returns its canonical name.
    pub fn resolve<'a>(&'a self, alias: Option<&'a str>) -> Result<&'a str, LlmError> {
        let alias = alias.unwrap_or(&self.default_alias);
        if self.models.contains_key(alias) {
            Ok(alias)
        } else {
            let mut known: Vec<_> = self.models.keys().cloned().collect();
            known.sort();
            Err(LlmError::UnknownModel {
                alias: alias.to_string(),
                known: known.join(", "),
            })
        }
    }

    pub fn credits_per_usd(&self) -> f64 {
        self.credits_per_usd
    }

    /// One chat completion, retried on 429/5xx/network errors, metered into the ledger.
    pub async fn complete(
        &self,
        alias: Option<&str>,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
        tags: &CallTags,
    ) -> Result<ModelReply, LlmError> {
        let alias = self.resolve(alias)?.to_string();
        let entry = &self.models[&alias];
        let request = wire::Request {
            model: &entry.id,
            messages,
            tools,
            stream: false,
        };
        let call = || async {
            entry
                .client
                .chat()
                .create_byot::<_, wire::Response>(&request)
                .await
        };
        let response = call
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(500))
                    .with_max_times(3)
                    .with_jitter(),
            )
            .when(is_transient)
            .await
            .map_err(|e| {
                crate::metrics::count(&crate::metrics::get().model_calls, "error");
                LlmError::Provider(describe(&e))
            })?;
        crate::metrics::count(&crate::metrics::get().model_calls, "ok");
        let usage = response
            .usage
            .as_ref()
            .map(wire::Usage::tokens)
            .unwrap_or_default();
        self.meter(&alias, entry.prices, usage, tags).await?;
        let message = response
            .choices
            .into_iter()
            .next()
            .ok_or(LlmError::Empty)?
            .message;
        Ok(ModelReply {
            content: message.content.filter(|c| !c.trim().is_empty()),
            tool_calls: message.tool_calls.unwrap_or_default(),
            usage,
            alias,
        })
    }

    async fn meter(
        &self,
        alias: &str,
        prices: Prices,
        usage: TokenUsage,
        tags: &CallTags,
    ) -> Result<(), LlmError> {
        let cost_usd = prices.cost_usd(usage);
        let entry = UsageEntry {
            at: Utc::now(),
            platform: tags.platform.clone(),
            user: tags.user.clone(),
            kind: tags.kind.clone(),
            model: Some(alias.to_string()),
            task: tags.task.clone(),
            conversation: tags.conversation.clone(),
            source: UsageSource::Model,
            endpoint: None,
            prompt_tokens: usage.prompt,
            completion_tokens: usage.completion,
            cached_tokens: usage.cached,
            credits: cost_usd * self.credits_per_usd,
            cost_usd,
            api_credits: 0.0,
        };
        self.ledger.record_usage(&entry).await?;
        Ok(())
    }
}

fn prices_of(alias: &str, model: &ModelConfig) -> Result<Prices, LlmError> {
    match (model.usd_per_mtok_input, model.usd_per_mtok_output) {
        (Some(input), Some(output)) => Ok(Prices {
            input,
            output,
            cached_input: model.usd_per_mtok_cached_input.unwrap_or(input),
        }),
        _ => Err(LlmError::Provider(format!(
            "model `{alias}` has no price; refusing to meter it as free"
        ))),
    }
}

fn is_transient(e: &async_openai::error::OpenAIError) -> bool {
    use async_openai::error::OpenAIError;
    match e {
        OpenAIError::Reqwest(e) => {
            e.is_timeout()
                || e.is_connect()
                || e.status()
                    .is_some_and(|s| s.as_u16() == 429 || s.is_server_error())
        }
        OpenAIError::ApiError(api) => {
            let text = format!("{api:?}").to_lowercase();
            text.contains("rate") || text.contains("overloaded") || text.contains("server")
        }
        _ => false,
    }
}

fn describe(e: &async_openai::error::OpenAIError) -> String {
    let text = e.to_string();
    // Deserialization errors embed the whole body; keep the message readable.
    text.chars().take(400).collect()
}
