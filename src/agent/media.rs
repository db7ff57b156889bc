//! What the agent offers for media a person sent: voice notes transcribed within the
//! budgets, and whether the turn's model reads images.

use super::{Agent, AgentError, Turn};
use crate::budget::BudgetError;
use crate::llm::{Audio, Transcript, TranscriptionSettings};

impl Agent {
    /// `[llm.transcription]`, when voice notes are set up.
    pub fn transcription(&self) -> Option<&TranscriptionSettings> {
        self.llm.transcription()
    }

    /// The model that answers `turn` reads images.
    pub fn sees_images(&self, turn: &Turn) -> bool {
        self.llm.sees_images(turn.model.as_deref())
    }

    /// The name of the model that answers `turn`, for what a person is told.
    pub fn model_name<'a>(&'a self, turn: &'a Turn) -> &'a str {
        turn.model
            .as_deref()
            .unwrap_or_else(|| self.llm.default_alias())
    }

    /// Transcribes a voice note for `turn`, once the budgets allow a call (a spent budget
    /// costs nothing and is the turn's answer).
    pub async fn transcribe(
        &self,
        turn: &Turn,
        audio: Audio<'_>,
    ) -> Result<Transcript, AgentError> {
        match self.budgets.check(&turn.tags).await {
            Ok(()) => {}
            Err(BudgetError::Store(e)) => return Err(e.into()),
            Err(BudgetError::Spent(spent)) => return Err(AgentError::Budget(spent)),
        }
        Ok(self.llm.transcribe(audio, &turn.tags).await?)
    }
}
