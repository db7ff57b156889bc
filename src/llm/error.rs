//! What went wrong with a model call, told apart by whether waiting can fix it.
//!
//! Only a rate limit (429), a provider error (5xx) and a timeout or dropped connection are
//! temporary. A missing or refused key, a model id the provider does not know and any
//! other refusal stay wrong until someone changes the config or the environment, and each
//! says what to change.

use async_openai::error::OpenAIError;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the model `{alias}` is not set up here (configured: {known}); an admin can add it under [llm.models] in the config")]
    UnknownModel { alias: String, known: String },
    /// The provider's key variable is unset or empty: nothing was sent.
    #[error("the key of the model provider `{provider}` is not set: put it in the environment variable `{var}` and restart fanops")]
    KeyMissing { provider: String, var: String },
    /// 401/403: the provider will not take the key.
    #[error("the model provider `{provider}` refused the key in `{var}` ({status}: {message}); put a valid key in `{var}` and restart fanops")]
    KeyRefused {
        provider: String,
        var: String,
        status: u16,
        message: String,
    },
    /// 404 (or `model_not_found`): the provider has no model by the configured id.
    #[error("the model provider `{provider}` does not know the model id `{id}` ({message}); fix `id` under [llm.models.\"{alias}\"] in the config")]
    ModelNotFound {
        provider: String,
        alias: String,
        id: String,
        message: String,
    },
    /// Still 429 after our retries (or it asked for a longer pause than a turn waits).
    #[error("the model provider `{provider}` is limiting how often it may be asked (429 Too Many Requests) and did not recover while retrying; this is temporary ({message})")]
    RateLimited { provider: String, message: String },
    #[error("the model provider `{provider}` refused the request because the account's quota is spent; an admin needs to add credit with the provider ({message})")]
    QuotaSpent { provider: String, message: String },
    /// 5xx after our retries, a timeout, or a connection that failed: temporary.
    #[error(
        "the model provider `{provider}` is not answering ({message}); this is usually temporary"
    )]
    Unavailable { provider: String, message: String },
    /// Any other refusal (400, 422, …) or an answer that is not a chat completion.
    #[error("the model provider `{provider}` refused the request ({message}); an admin can check the model's settings in the config")]
    Refused { provider: String, message: String },
    /// Wiring: the config names something that cannot be built.
    #[error("the model setup is incomplete: {0}")]
    Setup(String),
    #[error("the model `{alias}` returned no answer (no choices)")]
    Empty { alias: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl LlmError {
    /// What a person in the chat is told: the cause and who fixes it, without the
    /// provider's raw answer (that goes to the log and to a run's recorded error).
    pub fn for_person(&self) -> String {
        const NO_MODEL: &str = "Sorry, I cannot ask the AI model:";
        match self {
            LlmError::UnknownModel { alias, .. } => format!(
                "Sorry, the model `{alias}` is not set up here. An admin can add it under [llm.models] in the config."
            ),
            LlmError::KeyMissing { provider, var } => format!(
                "{NO_MODEL} the key of its provider `{provider}` is not set. An admin needs to set the environment variable `{var}` and restart fanops."
            ),
            LlmError::KeyRefused { provider, var, .. } => format!(
                "{NO_MODEL} the model provider `{provider}` refused the key in `{var}`. An admin needs to put a valid key in `{var}` and restart fanops."
            ),
            LlmError::ModelNotFound { provider, alias, id, .. } => format!(
                "{NO_MODEL} the model provider `{provider}` does not know the model id `{id}`. An admin needs to fix `id` under [llm.models.\"{alias}\"] in the config."
            ),
            LlmError::RateLimited { .. } => "Sorry, the AI model provider is limiting how often I may ask it right now, so I could not finish. Try again in a minute.".into(),
            LlmError::QuotaSpent { .. } => "Sorry, the AI model provider refused: the account's quota is spent. An admin needs to add credit with the provider; then ask again.".into(),
            LlmError::Unavailable { provider, .. } => format!(
                "Sorry, the AI model provider `{provider}` is not answering right now, so I could not finish. Try again in a minute; if it keeps happening, an admin can check the logs."
            ),
            LlmError::Refused { provider, .. } => format!(
                "Sorry, the AI model provider `{provider}` refused the request, so I could not finish. An admin can find its reason in the logs and check the model's settings in the config."
            ),
            LlmError::Setup(_) => "Sorry, the AI model is not set up correctly here. An admin can run `fanops check` to see what to fix.".into(),
            LlmError::Empty { .. } => "Sorry, the AI model sent back an empty answer, so I could not finish. Ask again; if it keeps happening, an admin can check the logs.".into(),
            LlmError::Store(_) => STORE_DOWN.into(),
        }
    }

    /// The model's provider keeps failing, whatever is asked: another model may answer
    /// (a provider down or limiting, a key it refuses or that is unset, a model id it does
    /// not know, a spent quota). A request it refuses as such, or our own store, is not.
    pub fn calls_for_fallback(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Unavailable { .. }
                | LlmError::KeyRefused { .. }
                | LlmError::KeyMissing { .. }
                | LlmError::ModelNotFound { .. }
                | LlmError::QuotaSpent { .. }
        )
    }

    /// Waiting (and asking again) can fix it.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. } | LlmError::Unavailable { .. } | LlmError::Store(_)
        )
    }
}

/// What a person is told when the database cannot be reached.
pub const STORE_DOWN: &str = "Sorry, I could not reach my database, so I could not finish. Try again in a minute; if it keeps happening, an admin can check the logs.";

/// A response the retry layer hands back as an error, so its status survives a body that
/// is not OpenAI's error JSON (a plain-text 404 from a wrong `base_url`, say).
#[derive(Debug, thiserror::Error)]
#[error("{status}: {body}")]
pub(super) struct Refusal {
    pub status: u16,
    pub body: String,
}

/// Who was asked, to name in the error.
pub(super) struct Asked<'a> {
    pub provider: &'a str,
    pub key_var: &'a str,
    pub alias: &'a str,
    pub id: &'a str,
}

/// Sorts a failed call by what would fix it.
pub(super) fn classify(e: &OpenAIError, asked: &Asked<'_>) -> LlmError {
    let provider = asked.provider.to_string();
    if let Some(message) = unreachable(e) {
        return LlmError::Unavailable { provider, message };
    }
    let Answer {
        status,
        message,
        codes,
    } = Answer::of(e);
    let has = |c: &str| codes.iter().any(|k| k == c);
    let message = match status {
        Some(s) => format!("{s}: {message}"),
        None => message,
    };
    if has("insufficient_quota") {
        return LlmError::QuotaSpent { provider, message };
    }
    match status {
        Some(401 | 403) => LlmError::KeyRefused {
            provider,
            var: asked.key_var.to_string(),
            status: status.unwrap_or_default(),
            message: message
                .split_once(": ")
                .map_or(message.clone(), |(_, m)| m.to_string()),
        },
        Some(404) => LlmError::ModelNotFound {
            provider,
            alias: asked.alias.to_string(),
            id: asked.id.to_string(),
            message,
        },
        _ if has("model_not_found") => LlmError::ModelNotFound {
            provider,
            alias: asked.alias.to_string(),
            id: asked.id.to_string(),
            message,
        },
        Some(429) => LlmError::RateLimited { provider, message },
        Some(s) if s >= 500 => LlmError::Unavailable { provider, message },
        _ => LlmError::Refused { provider, message },
    }
}

/// Why the provider could not be asked at all (no answer came), if that is what failed.
fn unreachable(e: &OpenAIError) -> Option<String> {
    let OpenAIError::Reqwest(r) = e else {
        return None;
    };
    Some(if r.is_timeout() {
        "it did not answer in time".to_string()
    } else if r.is_connect() {
        format!("it could not be reached: {}", shorten(&r.to_string()))
    } else {
        shorten(&r.to_string())
    })
}

/// What a failed call came back with: the HTTP status when there was one, the message,
/// and the error's `code` and `type`.
struct Answer {
    status: Option<u16>,
    message: String,
    codes: Vec<String>,
}

impl Answer {
    /// The answer `e` carries; a call that got none is `unreachable`.
    fn of(e: &OpenAIError) -> Answer {
        let (status, message, codes) = match e {
            OpenAIError::ApiError(api) => {
                let codes = [&api.api_error.code, &api.api_error.r#type]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>();
                (
                    Some(api.status_code.as_u16()),
                    shorten(&api.api_error.message),
                    codes,
                )
            }
            OpenAIError::Boxed(inner) => match inner.downcast_ref::<Refusal>() {
                Some(r) => (Some(r.status), error_message(&r.body), error_codes(&r.body)),
                None => (None, shorten(&inner.to_string()), Vec::new()),
            },
            other => (None, shorten(&other.to_string()), Vec::new()),
        };
        Answer {
            status,
            message,
            codes,
        }
    }
}

/// The `error.message` of an OpenAI-style body, else the body itself, shortened.
fn error_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str())
            .map(str::to_string)
    });
    let text = message.unwrap_or_else(|| body.trim().to_string());
    if text.is_empty() {
        "no details given".into()
    } else {
        shorten(&text)
    }
}

/// `error.code` and `error.type` of an OpenAI-style body.
fn error_codes(body: &str) -> Vec<String> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    ["/error/code", "/error/type", "/code", "/type"]
        .iter()
        .filter_map(|p| v.pointer(p).and_then(|c| c.as_str()).map(str::to_string))
        .collect()
}

/// Error bodies can be whole pages; keep the sentence readable and on one line.
pub(super) fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = one_line.chars().take(300).collect();
    if short.len() < one_line.len() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked() -> Asked<'static> {
        Asked {
            provider: "openai",
            key_var: "OPENAI_API_KEY",
            alias: "mini",
            id: "gpt-x",
        }
    }

    fn refusal(status: u16, body: &str) -> OpenAIError {
        OpenAIError::Boxed(Box::new(Refusal {
            status,
            body: body.into(),
        }))
    }

    #[test]
    fn sorts_by_what_would_fix_it() {
        let key = r#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#;
        let e = classify(&refusal(401, key), &asked());
        assert!(matches!(e, LlmError::KeyRefused { status: 401, .. }), "{e}");
        let text = e.to_string();
        assert!(text.contains("`OPENAI_API_KEY`") && text.contains("Incorrect API key"));
        assert!(!e.is_temporary());

        let e = classify(&refusal(404, "404 page not found"), &asked());
        assert!(e.to_string().contains("model id `gpt-x`"), "{e}");
        assert!(e.to_string().contains("[llm.models.\"mini\"]"), "{e}");

        let e = classify(
            &refusal(
                400,
                r#"{"error":{"message":"The model `gpt-x` does not exist","code":"model_not_found"}}"#,
            ),
            &asked(),
        );
        assert!(matches!(e, LlmError::ModelNotFound { .. }), "{e}");

        let e = classify(
            &refusal(
                429,
                r#"{"error":{"type":"insufficient_quota","message":"quota"}}"#,
            ),
            &asked(),
        );
        assert!(matches!(e, LlmError::QuotaSpent { .. }), "{e}");
        assert!(classify(&refusal(429, "slow down"), &asked()).is_temporary());
        assert!(classify(&refusal(503, "<html>\n busy</html>"), &asked()).is_temporary());
        let e = classify(&refusal(400, "bad"), &asked());
        assert!(
            !e.is_temporary() && !e.to_string().contains("try again"),
            "{e}"
        );
    }

    #[test]
    fn shortens_to_one_line() {
        assert_eq!(shorten("a\n  b\tc"), "a b c");
        assert!(shorten(&"x".repeat(1000)).ends_with('…'));
    }
}
