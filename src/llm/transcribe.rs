//! Voice notes into text: the OpenAI-compatible `POST {base_url}/audio/transcriptions`
//! of the `[llm.transcription]` alias (multipart `file` + `model`), through the same
//! client, retries and error sorting as chat calls, metered as kind `transcription` at
//! the configured price per minute.

use super::{Llm, LlmError};
use crate::chat::CallTags;
use crate::store::{UsageEntry, UsageSource};
use async_openai::types::audio::{AudioInput, CreateTranscriptionRequest};
use async_openai::types::InputSource;
use serde::Deserialize;

/// `[llm.transcription]` as the calls use it.
#[derive(Debug, Clone)]
pub struct TranscriptionSettings {
    pub alias: String,
    pub usd_per_minute: f64,
    /// Longer audio is refused before any cost.
    pub max_seconds: f64,
}

/// An audio file to transcribe: its name (the provider tells formats by the extension),
/// its bytes and its length as far as it is known.
pub struct Audio<'a> {
    pub name: &'a str,
    pub bytes: Vec<u8>,
    /// As the platform or the file says; the provider's own count wins when it sends one.
    pub seconds: f64,
}

/// What was heard, and how long the audio was (what it is billed by).
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub text: String,
    pub seconds: f64,
}

/// The provider's answer: `text`, with the length where it says (`duration` of Whisper's
/// verbose form, `usage.seconds` of the newer models).
#[derive(Debug, Deserialize)]
struct Response {
    text: String,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    seconds: Option<f64>,
}

impl Llm {
    /// `[llm.transcription]`, when voice is set up.
    pub fn transcription(&self) -> Option<&TranscriptionSettings> {
        self.transcription.as_ref()
    }

    /// Transcribes `audio` with the transcription alias and meters it. `None` settings
    /// are refused before anything is sent.
    pub async fn transcribe(
        &self,
        audio: Audio<'_>,
        tags: &CallTags,
    ) -> Result<Transcript, LlmError> {
        let settings = self.transcription.as_ref().ok_or_else(|| {
            LlmError::Setup("voice notes are not set up ([llm.transcription])".into())
        })?;
        let entry = &self.models[&settings.alias];
        if !entry.has_key {
            return Err(LlmError::KeyMissing {
                provider: entry.provider.clone(),
                var: entry.key_var.clone(),
            });
        }
        let request = CreateTranscriptionRequest {
            file: AudioInput {
                source: InputSource::VecU8 {
                    filename: audio.name.to_string(),
                    vec: audio.bytes,
                },
            },
            model: entry.id.clone(),
            ..Default::default()
        };
        let response: Response = entry
            .client
            .audio()
            .transcription()
            .create_byot(request)
            .await
            .map_err(|e| entry.failure(&settings.alias, &e))?;
        crate::metrics::count(&crate::metrics::get().model_calls, "ok");
        let seconds = response
            .usage
            .and_then(|u| u.seconds)
            .or(response.duration)
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(audio.seconds);
        self.meter_transcription(settings, seconds, tags).await?;
        Ok(Transcript {
            text: response.text.trim().to_string(),
            seconds,
        })
    }

    async fn meter_transcription(
        &self,
        settings: &TranscriptionSettings,
        seconds: f64,
        tags: &CallTags,
    ) -> Result<(), LlmError> {
        let cost_usd = seconds / 60.0 * settings.usd_per_minute;
        let entry = UsageEntry {
            at: chrono::Utc::now(),
            platform: tags.platform.clone(),
            connection: tags.connection.clone(),
            user: tags.user.clone(),
            kind: "transcription".into(),
            model: Some(settings.alias.clone()),
            task: tags.task.clone(),
            conversation: tags.conversation.clone(),
            source: UsageSource::Model,
            credits: cost_usd * self.credits_per_usd,
            cost_usd,
            ..UsageEntry::default()
        };
        self.ledger.record_usage(&entry).await?;
        Ok(())
    }
}
