//! A cheap token estimate for budgets and for calls whose provider reports no usage.
//!
//! Exact counts need the o200k tables (about 42 MB of memory and 190 ms on first use),
//! and nothing here needs exactness: metering uses the provider's own `usage`, and the
//! history budget only has to keep prompts a sensible size. So the estimate scans the
//! text once, cuts it roughly where the o200k pre-tokenizer does (words, digit runs,
//! punctuation runs, whitespace), and prices each piece by rules chosen to come out at
//! or a little above the exact count. `agent::history`'s tests measure it against
//! exact o200k counts and state the bounds it keeps.

use super::{ChatMessage, ToolCall, ToolSpec};

/// Characters of a plain ASCII word per token (o200k: most English words are one).
const CHARS_PER_TOKEN_WORD: f32 = 5.0;
/// The same for words that are all capitals or carry accented Latin letters: these are
/// split much finer than English.
const CHARS_PER_TOKEN_ODD_WORD: f32 = 3.0;
/// o200k never merges more than three digits.
const DIGITS_PER_TOKEN: f32 = 3.0;
/// Runs of punctuation (`":"`, `"},{"`) merge into short tokens.
const PUNCTUATION_PER_TOKEN: f32 = 2.5;
/// Tokens per letter for Cyrillic, and for every other alphabetic script.
const CYRILLIC_LETTER: f32 = 0.4;
const OTHER_SCRIPT_LETTER: f32 = 0.55;
/// A run of this many ASCII consonants (`xkcd`, parts of ids) is split further: each
/// consonant from here on adds this much.
const CONSONANT_RUN: u32 = 4;
const CONSONANT_EXTRA: f32 = 0.5;
/// Letters and digits mixed in one run (hashes, base64, signed URLs) cost at least this
/// much per character.
const DENSE_PER_CHAR: f32 = 0.7;
/// Per-message framing the chat format adds (role, separators).
pub const MESSAGE_FRAMING: u32 = 4;

/// A conservative estimate of the o200k token count of `text`.
pub fn estimate(text: &str) -> u32 {
    let mut scan = Scan::default();
    for c in text.chars() {
        scan.push(c);
    }
    scan.finish()
}

/// The estimated prompt size of a request: every message and the tool schemas.
pub fn estimate_prompt(messages: &[ChatMessage], tools: &[ToolSpec]) -> i64 {
    let messages: u32 = messages
        .iter()
        .map(|m| {
            MESSAGE_FRAMING
                + m.content.as_deref().map_or(0, estimate)
                + estimate_calls(&m.tool_calls)
                + m.images.iter().map(|i| i.tokens).sum::<u32>()
        })
        .sum();
    let schemas = if tools.is_empty() {
        0
    } else {
        serde_json::to_string(tools).map_or(0, |json| estimate(&json))
    };
    i64::from(messages) + i64::from(schemas)
}

/// The estimated size of an answer: its text and its tool calls.
pub fn estimate_completion(content: Option<&str>, calls: &[ToolCall]) -> i64 {
    i64::from(content.map_or(0, estimate) + estimate_calls(calls))
}

fn estimate_calls(calls: &[ToolCall]) -> u32 {
    calls
        .iter()
        .map(|c| MESSAGE_FRAMING + estimate(&c.function.name) + estimate(&c.function.arguments))
        .sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Break,
    Letter,
    Digit,
    Punctuation,
    Ideograph,
    Symbol,
}

impl Class {
    fn of(c: char) -> Class {
        match c {
            ' ' => Class::Space,
            c if c.is_whitespace() => Class::Break,
            c if c.is_ascii_digit() => Class::Digit,
            c if c.is_ascii_punctuation() => Class::Punctuation,
            c if is_ideograph(c) => Class::Ideograph,
            c if c.is_alphabetic() || is_combining(c) => Class::Letter,
            _ => Class::Symbol,
        }
    }

    fn is_alphanumeric(self) -> bool {
        matches!(self, Class::Letter | Class::Digit)
    }
}

/// Han, kana, Hangul and full-width forms: about one token per character or less.
fn is_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Combining marks and the vowel signs of Indic and Thai scripts belong to their word.
fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0900..=0x0DFF | 0x0E00..=0x0E7F)
}

fn is_accented_latin(c: char) -> bool {
    matches!(c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF)
}

/// One piece: a run of one class (a word also ends where a capital follows a small
/// letter, as in o200k).
#[derive(Default)]
struct Piece {
    chars: u32,
    bytes: u32,
    ascii_letters: u32,
    capitals: u32,
    accented: bool,
    /// Tokens of letters outside ASCII, and of long consonant runs.
    extra: f32,
    consonants: u32,
    ends_lower: bool,
}

impl Piece {
    fn push(&mut self, c: char) {
        self.chars += 1;
        self.bytes += c.len_utf8() as u32;
        if c.is_ascii_alphabetic() {
            self.ascii_letters += 1;
            if matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u' | 'y') {
                self.end_consonants();
            } else {
                self.consonants += 1;
            }
        } else if c.is_alphabetic() || is_combining(c) {
            self.end_consonants();
            self.extra += if is_accented_latin(c) {
                self.accented = true;
                1.0
            } else if matches!(c as u32, 0x0400..=0x04FF) {
                CYRILLIC_LETTER
            } else {
                OTHER_SCRIPT_LETTER
            };
        }
        if c.is_uppercase() {
            self.capitals += 1;
        }
        self.ends_lower = c.is_lowercase();
    }

    fn end_consonants(&mut self) {
        if self.consonants >= CONSONANT_RUN {
            self.extra += (self.consonants - CONSONANT_RUN + 1) as f32 * CONSONANT_EXTRA;
        }
        self.consonants = 0;
    }

    fn tokens(&mut self, class: Class) -> f32 {
        match class {
            // A single space belongs to the word after it.
            Class::Space => f32::from(self.chars > 1),
            Class::Break => 1.0,
            Class::Letter => {
                self.end_consonants();
                let shouting = self.capitals == self.chars && self.chars > 3;
                let per_token = if self.accented || shouting {
                    CHARS_PER_TOKEN_ODD_WORD
                } else {
                    CHARS_PER_TOKEN_WORD
                };
                (self.ascii_letters as f32 / per_token + self.extra).ceil()
            }
            Class::Digit => (self.chars as f32 / DIGITS_PER_TOKEN).ceil(),
            Class::Punctuation => (self.chars as f32 / PUNCTUATION_PER_TOKEN).ceil(),
            Class::Ideograph => self.chars as f32,
            // Emoji and other symbols: their UTF-8 bytes, two to a token.
            Class::Symbol => (self.bytes as f32 / 2.0).ceil(),
        }
    }
}

/// Consecutive letter and digit pieces: an id, a hash, a word.
#[derive(Default)]
struct Alphanumeric {
    chars: u32,
    pieces: u32,
    tokens: f32,
}

impl Alphanumeric {
    fn add(&mut self, piece: &Piece, tokens: f32) {
        self.chars += piece.chars;
        self.pieces += 1;
        self.tokens += tokens;
    }

    /// Many switches between letters, digits and case mean machine text, which o200k
    /// splits into short tokens whatever the pieces look like.
    fn take(&mut self) -> f32 {
        let dense = self.chars >= 8 && self.pieces.saturating_sub(1) * 3 >= self.chars;
        let tokens = if dense {
            self.tokens.max((self.chars as f32 * DENSE_PER_CHAR).ceil())
        } else {
            self.tokens
        };
        *self = Alphanumeric::default();
        tokens
    }
}

#[derive(Default)]
struct Scan {
    total: f32,
    class: Option<Class>,
    piece: Piece,
    run: Alphanumeric,
}

impl Scan {
    fn push(&mut self, c: char) {
        let class = Class::of(c);
        let hump = class == Class::Letter
            && self.class == Some(Class::Letter)
            && self.piece.ends_lower
            && c.is_uppercase();
        if self.class != Some(class) || hump {
            self.end_piece(Some(class));
            self.class = Some(class);
        }
        self.piece.push(c);
    }

    fn end_piece(&mut self, next: Option<Class>) {
        let Some(class) = self.class else { return };
        let mut piece = std::mem::take(&mut self.piece);
        let tokens = piece.tokens(class);
        if class.is_alphanumeric() {
            self.run.add(&piece, tokens);
        } else {
            self.total += tokens;
        }
        if !next.is_some_and(Class::is_alphanumeric) {
            self.total += self.run.take();
        }
    }

    fn finish(mut self) -> u32 {
        self.end_piece(None);
        self.total as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_short_texts() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("hi"), 1);
        assert_eq!(estimate("How much did we earn this week?"), 8);
        assert_eq!(estimate("2025"), 2, "digits go three to a token");
    }

    #[test]
    fn scripts_without_spaces_are_not_one_token() {
        assert!(estimate("你好这周我们赚了多少钱") >= 10);
        assert!(estimate("😍🔥💋") >= 3);
        assert!(estimate("xkcdqwvbnmzrtplkjhgf") >= 10, "consonant soup");
        assert!(
            estimate("9f86d081884c7d659a2feaa0c55ad015") >= 20,
            "a hash is dense"
        );
    }

    #[test]
    fn prompts_count_messages_calls_and_schemas() {
        let call = ToolCall {
            id: "call_1".into(),
            kind: "function".into(),
            function: super::super::FunctionCall {
                name: "agency_earnings".into(),
                arguments: r#"{"start_date":"2025-06-01","end_date":"2025-06-07"}"#.into(),
            },
        };
        let question = ChatMessage::user("How much did we earn this week?");
        let bare = estimate_prompt(std::slice::from_ref(&question), &[]);
        assert_eq!(bare, 12, "8 tokens and the framing");
        let tool = ToolSpec::new(
            "agency_earnings",
            "Earnings for a period",
            serde_json::json!({"type": "object"}),
        );
        assert!(estimate_prompt(std::slice::from_ref(&question), &[tool]) > bare + 10);
        let answer = estimate_completion(None, std::slice::from_ref(&call));
        assert!(answer > 20, "{answer}");
        assert_eq!(estimate_completion(Some("ok"), &[]), 1);
    }
}

/// What an image costs a model to read: OpenAI's count for `detail: auto` at high
/// detail — 85 tokens, plus 170 for each 512-pixel tile once the image is scaled to fit
/// 2048×2048 and its short side to 768 pixels.
pub fn image_tokens(width: u32, height: u32) -> u32 {
    if width == 0 || height == 0 {
        return 85;
    }
    let (mut w, mut h) = (f64::from(width), f64::from(height));
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    let tiles = (w / 512.0).ceil() * (h / 512.0).ceil();
    85 + 170 * tiles as u32
}

#[cfg(test)]
mod image_tests {
    #[test]
    fn images_cost_what_openai_counts() {
        // OpenAI's worked examples: 1024×1024 → 765; 2048×4096 → 1105; a small one → 255.
        assert_eq!(super::image_tokens(1024, 1024), 765);
        assert_eq!(super::image_tokens(2048, 4096), 1105);
        assert_eq!(super::image_tokens(300, 200), 255);
    }
}
