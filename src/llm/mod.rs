//! Model calls through any OpenAI-compatible endpoint (async-openai, bring-your-own types
//! so that lenient providers work), with per-alias prices. Every call is metered into the
//! usage ledger before its reply is returned: from the provider's `usage`, or, when a
//! provider sends none, from an estimate marked as such.

mod error;
mod fallback;
mod retry;
pub mod tokens;
mod transcribe;
mod wire;

pub use crate::chat::CallTags;
pub use error::{LlmError, STORE_DOWN};
pub use retry::MAX_ATTEMPTS;
pub use transcribe::{Audio, Transcript, TranscriptionSettings};
pub use wire::{ChatMessage, FunctionCall, ImagePart, ToolCall, ToolSpec};

use crate::config::{Config, ModelConfig};
use crate::store::{SharedStore, UsageEntry, UsageSource};
use async_openai::{config::OpenAIConfig, Client};
use chrono::Utc;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

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
    /// The provider sent no usage: these are fanops' own estimate (see [`tokens`]).
    pub estimated: bool,
}

/// Prices of one alias, US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
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
    provider: String,
    /// The environment variable the provider's key comes from, to name in errors.
    key_var: String,
    /// No request is sent without a key: an empty bearer only earns a 401.
    has_key: bool,
    prices: Prices,
    /// The aliases that answer, in order, when this one's provider keeps failing.
    fallbacks: Vec<String>,
    /// It reads images (`vision = true`).
    vision: bool,
    /// It has per-token prices and so can answer chat; the transcription alias may not.
    chats: bool,
}

impl ModelEntry {
    /// A failed call to this model, counted and sorted by what would fix it.
    fn failure(&self, alias: &str, e: &async_openai::error::OpenAIError) -> LlmError {
        crate::metrics::count(&crate::metrics::get().model_calls, "error");
        let asked = error::Asked {
            provider: &self.provider,
            key_var: &self.key_var,
            alias,
            id: &self.id,
        };
        error::classify(e, &asked)
    }
}

/// All configured model aliases.
pub struct Llm {
    models: HashMap<String, ModelEntry>,
    default_alias: String,
    credits_per_usd: f64,
    ledger: SharedStore,
    /// Providers already reported as sending no usage (one warning each, not one per call).
    without_usage: Mutex<HashSet<String>>,
    /// Which alias answers for each alias that has fallbacks, to log each switch once.
    answering: fallback::Switches,
    /// `[llm.transcription]`: voice notes are transcribed with it.
    transcription: Option<TranscriptionSettings>,
}

impl Llm {
    /// Builds one client per alias. The config was validated: every alias has prices.
    pub fn new(config: &Config, ledger: SharedStore) -> Result<Llm, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| LlmError::Setup(e.to_string()))?;
        let mut models = HashMap::new();
        let transcription = config.llm.transcription.as_ref();
        for (alias, model) in &config.llm.models {
            let provider = config.llm.providers.get(&model.provider).ok_or_else(|| {
                LlmError::Setup(format!(
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
            // Our retry replaces async-openai's own (see `retry`).
            let client = Client::with_config(openai)
                .with_http_client(http.clone())
                .with_http_service(retry::RetryingHttp::new(http.clone()));
            let transcribes = transcription.is_some_and(|t| &t.model == alias);
            let (prices, chats) = match prices_of(alias, model) {
                Ok(prices) => (prices, true),
                Err(_) if transcribes => (Prices::default(), false),
                Err(e) => return Err(e),
            };
            let entry = ModelEntry {
                client,
                id: model.id.clone(),
                provider: model.provider.clone(),
                key_var: provider.api_key_env.clone(),
                has_key: key.is_some_and(|k| !k.trim().is_empty()),
                prices,
                fallbacks: model.fallbacks.clone(),
                vision: model.vision,
                chats,
            };
            models.insert(alias.clone(), entry);
        }
        Ok(Llm {
            models,
            default_alias: config.llm.default_model.clone(),
            credits_per_usd: config.llm.credits_per_usd,
            ledger,
            without_usage: Mutex::new(HashSet::new()),
            answering: fallback::Switches::default(),
            transcription: transcription.map(|t| TranscriptionSettings {
                alias: t.model.clone(),
                usd_per_minute: t.usd_per_minute.unwrap_or_default(),
                max_seconds: t.max_minutes * 60.0,
            }),
        })
    }

    /// The alias answering for `alias` (None = the default) reads images.
    pub fn sees_images(&self, alias: Option<&str>) -> bool {
        self.resolve(alias)
            .ok()
            .and_then(|alias| self.models.get(alias))
            .is_some_and(|m| m.vision)
    }

    pub fn default_alias(&self) -> &str {
        &self.default_alias
    }

    /// Checks an alias (None = the default) and returns its canonical name.
    pub fn resolve<'a>(&'a self, alias: Option<&'a str>) -> Result<&'a str, LlmError> {
        let alias = alias.unwrap_or(&self.default_alias);
        match self.models.get(alias) {
            Some(model) if model.chats => Ok(alias),
            Some(_) => Err(LlmError::Setup(format!(
                "the model `{alias}` only transcribes voice notes (it has no per-token prices); name a chat model instead"
            ))),
            None => Err(LlmError::UnknownModel {
                alias: alias.to_string(),
                known: self.known(),
            }),
        }
    }

    /// The configured aliases, sorted, as a list in words.
    fn known(&self) -> String {
        let mut known: Vec<_> = self.models.keys().cloned().collect();
        known.sort();
        known.join(", ")
    }

    pub fn credits_per_usd(&self) -> f64 {
        self.credits_per_usd
    }

    /// One chat completion, retried on 429/5xx/network errors, metered into the ledger
    /// under the alias that answered: when the model's provider keeps failing (see
    /// [`LlmError::calls_for_fallback`]), its `fallbacks` are asked the same request in
    /// order. The first model's failure is returned when none answers.
    pub async fn complete(
        &self,
        alias: Option<&str>,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
        tags: &CallTags,
    ) -> Result<ModelReply, LlmError> {
        let first = self.resolve(alias)?.to_string();
        let chain = std::iter::once(&first).chain(&self.models[&first].fallbacks);
        let mut failure: Option<LlmError> = None;
        for candidate in chain {
            match self.complete_with(candidate, messages, tools, tags).await {
                Ok(reply) => {
                    self.answering.answered(&first, candidate, failure.as_ref());
                    return Ok(reply);
                }
                Err(e) if e.calls_for_fallback() => {
                    tracing::debug!(model = %candidate, error = %e, "asking the next fallback");
                    failure.get_or_insert(e);
                }
                Err(e) => return Err(failure.unwrap_or(e)),
            }
        }
        Err(failure.expect("the chain has at least the model itself"))
    }

    /// One alias's attempt: its provider, its retries, its meter.
    async fn complete_with(
        &self,
        alias: &str,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
        tags: &CallTags,
    ) -> Result<ModelReply, LlmError> {
        let alias = alias.to_string();
        let entry = self
            .models
            .get(&alias)
            .ok_or_else(|| LlmError::UnknownModel {
                alias: alias.clone(),
                known: self.known(),
            })?;
        if !entry.has_key {
            crate::metrics::count(&crate::metrics::get().model_calls, "error");
            return Err(LlmError::KeyMissing {
                provider: entry.provider.clone(),
                var: entry.key_var.clone(),
            });
        }
        let request = wire::Request {
            model: &entry.id,
            messages,
            tools,
            stream: false,
        };
        let response = entry
            .client
            .chat()
            .create_byot::<_, wire::Response>(&request)
            .await
            .map_err(|e| entry.failure(&alias, &e))?;
        crate::metrics::count(&crate::metrics::get().model_calls, "ok");
        let message = response.choices.into_iter().next().map(|c| c.message);
        let usage = self.usage_of(
            entry,
            response.usage.as_ref(),
            messages,
            tools,
            message.as_ref(),
        );
        self.meter(&alias, entry.prices, usage, tags).await?;
        let message = message.ok_or_else(|| LlmError::Empty {
            alias: alias.clone(),
        })?;
        Ok(ModelReply {
            content: message.content.filter(|c| !c.trim().is_empty()),
            tool_calls: message.tool_calls.unwrap_or_default(),
            usage,
            alias,
        })
    }

    /// The provider's usage, or (when it sent none, or only zeros) an estimate of what was
    /// sent and received, marked as such.
    fn usage_of(
        &self,
        entry: &ModelEntry,
        reported: Option<&wire::Usage>,
        messages: &[ChatMessage],
        tools: &[ToolSpec],
        answer: Option<&wire::ResponseMessage>,
    ) -> TokenUsage {
        match reported.map(wire::Usage::tokens) {
            Some(usage) if usage.prompt > 0 || usage.completion > 0 => usage,
            _ => {
                self.warn_no_usage(&entry.provider);
                let content = answer.and_then(|m| m.content.as_deref());
                let calls = answer
                    .and_then(|m| m.tool_calls.as_deref())
                    .unwrap_or_default();
                TokenUsage {
                    prompt: tokens::estimate_prompt(messages, tools),
                    completion: tokens::estimate_completion(content, calls),
                    cached: 0,
                    estimated: true,
                }
            }
        }
    }

    /// Says once per provider that its costs are estimates.
    fn warn_no_usage(&self, provider: &str) {
        let mut warned = self.without_usage.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(provider.to_string()) {
            tracing::warn!(
                provider,
                "model provider `{provider}` sends no token usage; its costs are estimated \
                 from a count of what was sent and received, and marked as estimated in usage reports"
            );
        }
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
            connection: tags.connection.clone(),
            user: tags.user.clone(),
            kind: tags.kind.as_str().to_string(),
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
            estimated: usage.estimated,
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
        _ => Err(LlmError::Setup(format!(
            "model `{alias}` has no price; refusing to meter it as free"
        ))),
    }
}
