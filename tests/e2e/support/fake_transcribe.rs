//! The OpenAI-compatible `POST /v1/audio/transcriptions` of [`FakeModel`]: it reads the
//! multipart body as OpenAI does (a `file` part with a file name, a `model` field; 400
//! without either), records what arrived, and answers `{"text": …}` with the scripted
//! transcript. The audio's length is not reported (as `json`, OpenAI's default format,
//! does not), so fanops meters what the platform or the file said.

use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// One transcription request as it crossed the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcription {
    pub model: String,
    pub file_name: String,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
pub struct TranscribeState {
    pub requests: Mutex<Vec<Transcription>>,
    /// What is "heard" in the next audio (then the default).
    pub transcripts: Mutex<std::collections::VecDeque<String>>,
    /// Answered instead, once each: a status and body.
    pub failures: Mutex<std::collections::VecDeque<(u16, String)>>,
}

pub async fn transcriptions(
    State(state): State<Arc<super::fake_model::ModelState>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    if !super::has_bearer(&headers) {
        return error(401, "Incorrect API key provided.");
    }
    let state = &state.transcribe;
    let (mut model, mut file) = (None, None);
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let Ok(bytes) = field.bytes().await else {
            return error(400, "Could not read the multipart body.");
        };
        match (name.as_str(), file_name) {
            ("file", Some(file_name)) => file = Some((file_name, content_type, bytes.to_vec())),
            ("model", None) => model = Some(String::from_utf8_lossy(&bytes).into_owned()),
            _ => {}
        }
    }
    let (Some(model), Some((file_name, content_type, bytes))) = (model, file) else {
        return error(400, "The request needs a `file` part and a `model` field.");
    };
    state.requests.lock().unwrap().push(Transcription {
        model,
        file_name,
        content_type,
        bytes,
    });
    if let Some((status, body)) = state.failures.lock().unwrap().pop_front() {
        return super::json_response(status, &serde_json::from_str(&body).unwrap_or(json!(body)));
    }
    let text = state
        .transcripts
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| "(nothing scripted was said)".into());
    super::json_response(200, &json!({ "text": text }))
}

fn error(status: u16, message: &str) -> Response {
    super::json_response(
        status,
        &json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}}),
    )
}

/// A PCM WAV of `seconds` of a 440 Hz tone: 16-bit mono at 8 kHz, a real file any
/// decoder plays.
pub fn wav(seconds: f64) -> Vec<u8> {
    let rate = 8_000u32;
    let samples = (seconds * f64::from(rate)) as u32;
    let mut out = Vec::with_capacity(44 + samples as usize * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples * 2).to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(rate);
        let sample = ((t * 440.0 * std::f64::consts::TAU).sin() * 8_000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// A real 4×3 PNG (one red pixel row over white), small enough to inline.
pub fn png() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAE0lEQVR4nGP4z8AARwz/kQAKBwC8eBvlGh3fhAAAAABJRU5ErkJggg==")
        .expect("the PNG is base64")
}
