//! What of a conversation's history is sent to the model: the newest turns that fit a
//! token budget, never separating a tool call from its results.

use crate::llm::tokens::MESSAGE_FRAMING as FRAMING;
use crate::llm::{ChatMessage, FunctionCall, ToolCall};
use crate::store::{MessageRole, StoredMessage};
use std::collections::HashSet;

/// Tokens of a text for the history budget: a cheap estimate that errs high (at or a
/// little above the o200k count; see the calibration test below), not an exact count.
/// Metering never uses it while the provider reports usage.
pub fn count_tokens(text: &str) -> u32 {
    crate::llm::tokens::estimate(text)
}

/// Tokens a stored message costs in a prompt (content plus tool calls).
pub fn message_tokens(message: &StoredMessage) -> u32 {
    let calls: u32 = message
        .tool_calls
        .iter()
        .map(|c| count_tokens(&c.name) + count_tokens(&c.arguments) + FRAMING)
        .sum();
    FRAMING + message.content.as_deref().map_or(0, count_tokens) + calls
}

/// Keeps the newest whole turns within `budget` tokens (always at least the last one).
/// Borrows them: a turn's history is not copied before it is put on the wire.
pub fn fit(history: &[StoredMessage], budget: u32) -> Vec<&StoredMessage> {
    let units = units(history);
    let mut kept: Vec<&[StoredMessage]> = Vec::new();
    let mut used = 0u32;
    for unit in units.iter().rev() {
        let cost: u32 = unit.iter().map(|m| m.tokens.max(1)).sum();
        if !kept.is_empty() && used + cost > budget {
            break;
        }
        used += cost;
        kept.push(unit);
    }
    kept.into_iter().rev().flatten().collect()
}

/// Splits history into units: a user message, a plain answer, or an assistant message
/// with tool calls together with the tool results that follow it.
fn units(history: &[StoredMessage]) -> Vec<&[StoredMessage]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < history.len() {
        let start = i;
        i += 1;
        if history[start].role == MessageRole::Tool {
            // An orphaned result (its call was cleared): never send it on its own.
            continue;
        }
        while i < history.len() && history[i].role == MessageRole::Tool {
            i += 1;
        }
        out.push(&history[start..i]);
    }
    out
}

/// Converts stored messages to the wire format, adding a placeholder result for any
/// tool call whose result was never stored (an interrupted turn), as providers require.
pub fn to_wire(history: &[&StoredMessage]) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(history.len());
    let mut i = 0;
    while i < history.len() {
        let message = history[i];
        out.push(wire_message(message));
        i += 1;
        if message.tool_calls.is_empty() {
            continue;
        }
        let mut answered = HashSet::new();
        while i < history.len() && history[i].role == MessageRole::Tool {
            answered.extend(history[i].tool_call_id.as_deref());
            out.push(wire_message(history[i]));
            i += 1;
        }
        for call in message
            .tool_calls
            .iter()
            .filter(|c| !answered.contains(c.id.as_str()))
        {
            out.push(ChatMessage {
                role: "tool".into(),
                content: Some(
                    "No result was recorded for this call (the turn was interrupted).".into(),
                ),
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id.clone()),
                images: Vec::new(),
            });
        }
    }
    out
}

fn wire_message(m: &StoredMessage) -> ChatMessage {
    ChatMessage {
        role: match m.role {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Tool => "tool",
        }
        .into(),
        content: m.content.clone(),
        tool_calls: m
            .tool_calls
            .iter()
            .map(|c| ToolCall {
                id: c.id.clone(),
                kind: "function".into(),
                function: FunctionCall {
                    name: c.name.clone(),
                    arguments: c.arguments.clone(),
                },
            })
            .collect(),
        tool_call_id: m.tool_call_id.clone(),
        images: Vec::new(),
    }
}

#[cfg(test)]
mod calibration;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoredToolCall;

    fn msg(role: MessageRole, text: &str, tokens: u32) -> StoredMessage {
        StoredMessage {
            role,
            content: Some(text.into()),
            tool_calls: vec![],
            tool_call_id: None,
            tokens,
        }
    }

    fn call(id: &str, tokens: u32) -> StoredMessage {
        StoredMessage {
            role: MessageRole::Assistant,
            content: None,
            tool_calls: vec![StoredToolCall {
                id: id.into(),
                name: "list_accounts".into(),
                arguments: "{}".into(),
            }],
            tool_call_id: None,
            tokens,
        }
    }

    fn result(id: &str, tokens: u32) -> StoredMessage {
        StoredMessage {
            tool_call_id: Some(id.into()),
            ..msg(MessageRole::Tool, "{}", tokens)
        }
    }

    #[test]
    fn never_splits_a_call_from_its_result() {
        let history = vec![
            msg(MessageRole::User, "old", 10),
            call("c1", 10),
            result("c1", 500),
            msg(MessageRole::Assistant, "answer", 10),
            msg(MessageRole::User, "new", 10),
        ];
        // 30 fits the last two units only; the 510-token call+result unit is dropped whole.
        let kept = fit(&history, 30);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].content.as_deref(), Some("answer"));
        let kept = fit(&history, 530);
        assert_eq!(kept.len(), 4, "the call and its result come together");
        assert_eq!(kept[0].role, MessageRole::Assistant);
        assert_eq!(kept[1].role, MessageRole::Tool);
    }

    #[test]
    fn keeps_the_newest_unit_even_over_budget() {
        let history = vec![msg(MessageRole::User, "huge", 10_000)];
        assert_eq!(fit(&history, 100).len(), 1);
    }

    #[test]
    fn unanswered_calls_get_a_placeholder() {
        let (question, unanswered) = (msg(MessageRole::User, "q", 1), call("c9", 1));
        let wire = to_wire(&[&question, &unanswered]);
        assert_eq!(wire.len(), 3);
        assert_eq!(wire[2].tool_call_id.as_deref(), Some("c9"));
    }

    #[test]
    fn counts_tokens() {
        assert!(count_tokens("How much did we earn this week?") >= 6);
        assert_eq!(count_tokens(""), 0);
    }
}
