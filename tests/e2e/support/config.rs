//! The config every test and benchmark starts from, pointed at the fakes.

/// A complete `fanops.toml` for the fakes at `model_url` and `api_url`; `extra` is appended.
/// Telegram users 1 (operator), 2 (viewer) and 3 (admin) are permitted.
pub fn config_text(model_url: &str, api_url: &str, db: &str, extra: &str) -> String {
    format!(
        r#"timezone = "Europe/London"

[database]
url = "{db}"

[onlyfans]
base_url = "{api_url}"
max_retries = 2

[llm]
default_model = "test-model"
credits_per_usd = 100

[llm.providers.fake]
base_url = "{model_url}"
api_key_env = "FAKE_MODEL_KEY"

[llm.models."test-model"]
provider = "fake"
id = "fake-1"
usd_per_mtok_input = 1.0
usd_per_mtok_output = 2.0

[channels.telegram]
permitted_users = [1, 2, 3]
roles = {{ "2" = "viewer", "3" = "admin" }}

{extra}
"#
    )
}

/// What voice notes need, appended as `extra`: a transcription alias on the fake
/// provider, at OpenAI's whisper-1 price.
pub const TRANSCRIPTION: &str = r#"
[llm.models.whisper]
provider = "fake"
id = "whisper-1"

[llm.transcription]
model = "whisper"
usd_per_minute = 0.006
"#;

/// `config_text`'s model, declared as one that reads images.
pub fn seeing(config: &str) -> String {
    let priced = "usd_per_mtok_output = 2.0\n";
    assert!(config.contains(priced), "the config is config_text's");
    config.replacen(priced, "usd_per_mtok_output = 2.0\nvision = true\n", 1)
}
