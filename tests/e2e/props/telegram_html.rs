//! Telegram HTML.
