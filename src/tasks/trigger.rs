//! Event rules (DESIGN §7): a workflow with a `[trigger]` table instead of a schedule
//! fires when a matching real-time event arrives. This file holds what a rule may say
//! and the normalised event kinds and fields it may name; receiving events is
//! `crate::events`'.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The normalised kinds of event every source maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    MessageReceived,
    MessageSent,
    MessageDeleted,
    Tip,
    NewSubscriber,
    ReturningSubscriber,
    SubscriptionRenewed,
    PpvPurchase,
    PpvSent,
    PostLiked,
    Typing,
    Online,
    Offline,
    AccountStatus,
    Transaction,
    ExportReady,
    Other,
}

impl EventKind {
    pub const ALL: [EventKind; 17] = [
        EventKind::MessageReceived,
        EventKind::MessageSent,
        EventKind::MessageDeleted,
        EventKind::Tip,
        EventKind::NewSubscriber,
        EventKind::ReturningSubscriber,
        EventKind::SubscriptionRenewed,
        EventKind::PpvPurchase,
        EventKind::PpvSent,
        EventKind::PostLiked,
        EventKind::Typing,
        EventKind::Online,
        EventKind::Offline,
        EventKind::AccountStatus,
        EventKind::Transaction,
        EventKind::ExportReady,
        EventKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::MessageReceived => "message_received",
            EventKind::MessageSent => "message_sent",
            EventKind::MessageDeleted => "message_deleted",
            EventKind::Tip => "tip",
            EventKind::NewSubscriber => "new_subscriber",
            EventKind::ReturningSubscriber => "returning_subscriber",
            EventKind::SubscriptionRenewed => "subscription_renewed",
            EventKind::PpvPurchase => "ppv_purchase",
            EventKind::PpvSent => "ppv_sent",
            EventKind::PostLiked => "post_liked",
            EventKind::Typing => "typing",
            EventKind::Online => "online",
            EventKind::Offline => "offline",
            EventKind::AccountStatus => "account_status",
            EventKind::Transaction => "transaction",
            EventKind::ExportReady => "export_ready",
            EventKind::Other => "other",
        }
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn names() -> Vec<&'static str> {
        EventKind::ALL.iter().map(|k| k.as_str()).collect()
    }
}

/// The facts an event may carry in `fields`.
pub const EVENT_FIELDS: &[&str] = &[
    "fan_id",
    "fan_username",
    "fan_name",
    "amount",
    "text",
    "message_id",
    "state",
];

/// What a template may name besides [`EVENT_FIELDS`].
pub const EVENT_FACTS: &[&str] = &["account", "kind", "source", "occurred_at"];

/// `event = "tip"` or `event = ["tip", "ppv_purchase"]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<String> {
        match self {
            OneOrMany::One(one) => vec![one.clone()],
            OneOrMany::Many(many) => many.clone(),
        }
    }
}

/// A `[trigger]` table as written.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    pub event: OneOrMany,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// What a rule does with a matching event.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    /// Fills the template in: no model call, no credits.
    Template(String),
    /// Runs the agent, unattended and metered as kind `event`.
    Prompt(String),
}

/// A validated trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub kinds: Vec<EventKind>,
    pub accounts: Vec<String>,
    pub min_amount: Option<f64>,
    pub cooldown: Option<Duration>,
    pub batch: Option<Duration>,
    pub action: RuleAction,
}

/// A problem with one key of `[trigger]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerError {
    pub key: &'static str,
    pub message: String,
}

fn problem(key: &'static str, message: impl Into<String>) -> TriggerError {
    TriggerError {
        key,
        message: message.into(),
    }
}

impl TriggerSpec {
    /// Checks the table; `prompt` is the workflow's own prompt, used when the trigger
    /// names neither a template nor a prompt.
    pub fn build(&self, prompt: &str) -> Result<Trigger, Vec<TriggerError>> {
        let mut problems = Vec::new();
        let kinds = self.kinds(&mut problems);
        if let Some(min) = self.min_amount {
            if !min.is_finite() || min < 0.0 {
                problems.push(problem(
                    "min_amount",
                    "min_amount must be a positive number of USD",
                ));
            }
        }
        let cooldown = duration("cooldown", &self.cooldown, &mut problems).filter(|d| !d.is_zero());
        let batch = duration("batch", &self.batch, &mut problems);
        if batch.is_some_and(|d| d < Duration::from_secs(1)) {
            problems.push(problem("batch", "batch must be at least 1s"));
        }
        match self.action(prompt, &mut problems) {
            Some(action) if problems.is_empty() => Ok(Trigger {
                kinds,
                accounts: self.accounts.clone(),
                min_amount: self.min_amount,
                cooldown,
                batch,
                action,
            }),
            _ => Err(problems),
        }
    }

    /// The event kinds named in `event`: at least one, each a known kind.
    fn kinds(&self, problems: &mut Vec<TriggerError>) -> Vec<EventKind> {
        let mut kinds = Vec::new();
        for name in self.event.names() {
            match EventKind::parse(&name) {
                Some(kind) => kinds.push(kind),
                None => problems.push(problem(
                    "event",
                    format!(
                        "unknown event kind `{name}` (use {})",
                        EventKind::names().join(", ")
                    ),
                )),
            }
        }
        if self.event.names().is_empty() {
            problems.push(problem("event", "name at least one event kind"));
        }
        kinds
    }

    /// What the rule does: fill `template` in, or run a prompt (the trigger's own, else
    /// the workflow's `prompt`); exactly one of the two, and a template names only
    /// known fields.
    fn action(&self, prompt: &str, problems: &mut Vec<TriggerError>) -> Option<RuleAction> {
        let own_prompt = self
            .prompt
            .clone()
            .or_else(|| (!prompt.trim().is_empty()).then(|| prompt.to_string()));
        match (&self.template, own_prompt) {
            (Some(_), Some(_)) if self.prompt.is_some() => {
                problems.push(problem(
                    "template",
                    "give either template or prompt, not both",
                ));
                None
            }
            (Some(template), _) => {
                for name in unknown_fields(template) {
                    problems.push(problem(
                        "template",
                        format!(
                            "unknown template field `{{{name}}}` (use {})",
                            template_names().join(", ")
                        ),
                    ));
                }
                Some(RuleAction::Template(template.clone()))
            }
            (None, Some(prompt)) if !prompt.trim().is_empty() => Some(RuleAction::Prompt(prompt)),
            (None, _) => {
                problems.push(problem(
                    "template",
                    "a trigger needs a `template` (posted as is, no model call) or a `prompt` (an agent run)",
                ));
                None
            }
        }
    }
}

/// The duration written under `key`, if any; a problem when it is not one.
fn duration(
    key: &'static str,
    value: &Option<String>,
    problems: &mut Vec<TriggerError>,
) -> Option<Duration> {
    let text = value.as_ref()?;
    let parsed = crate::config::parse_duration(text);
    if parsed.is_none() {
        problems.push(problem(
            key,
            format!("`{text}` is not a duration (write e.g. \"30s\", \"5m\", \"1h\")"),
        ));
    }
    parsed
}

/// Every name a template may use, in braces.
pub fn template_names() -> Vec<String> {
    EVENT_FACTS
        .iter()
        .chain(EVENT_FIELDS)
        .map(|n| format!("{{{n}}}"))
        .collect()
}

/// The `{name}` placeholders of a template, in order.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            out.push(&after[..name_len]);
            rest = &after[name_len + 1..];
        } else {
            rest = after;
        }
    }
    out
}

fn unknown_fields(template: &str) -> Vec<String> {
    placeholders(template)
        .into_iter()
        .filter(|name| !EVENT_FACTS.contains(name) && !EVENT_FIELDS.contains(name))
        .map(str::to_string)
        .collect()
}

/// "on tip ≥ $50 (batched every 5m)": how `/tasks` shows a trigger.
pub fn describe(trigger: &Trigger) -> String {
    let kinds: Vec<&str> = trigger.kinds.iter().map(|k| k.as_str()).collect();
    let mut out = format!("on {}", kinds.join(" or "));
    if let Some(min) = trigger.min_amount {
        out.push_str(&format!(" ≥ ${min}"));
    }
    if !trigger.accounts.is_empty() {
        out.push_str(&format!(" for {}", trigger.accounts.join(", ")));
    }
    if let Some(batch) = trigger.batch {
        out.push_str(&format!(
            ", digest every {}",
            humantime::format_duration(batch)
        ));
    }
    if let Some(cooldown) = trigger.cooldown {
        out.push_str(&format!(
            ", at most one per {} per account",
            humantime::format_duration(cooldown)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> TriggerSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn every_kind_round_trips_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("tips"), None);
    }

    #[test]
    fn a_trigger_names_kinds_and_a_template() {
        let t = spec("event = [\"tip\", \"ppv_purchase\"]\nmin_amount = 50\nbatch = \"5m\"\ntemplate = \"{fan_name} {amount}\"")
            .build("")
            .unwrap();
        assert_eq!(t.kinds, vec![EventKind::Tip, EventKind::PpvPurchase]);
        assert_eq!(t.batch, Some(Duration::from_secs(300)));
        assert_eq!(t.action, RuleAction::Template("{fan_name} {amount}".into()));
    }

    #[test]
    fn unknown_kinds_and_fields_are_named() {
        let errors = spec("event = \"tipz\"\ntemplate = \"{fan} tipped {amount}\"")
            .build("")
            .unwrap_err();
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(
            messages[0].contains("unknown event kind `tipz`"),
            "{messages:?}"
        );
        assert!(
            messages[1].contains("unknown template field `{fan}`"),
            "{messages:?}"
        );
        let none = spec("event = \"tip\"").build("").unwrap_err();
        assert_eq!(none[0].key, "template");
    }

    #[test]
    fn every_problem_of_the_table_is_named_in_key_order() {
        let errors = spec(
            "event = []\nmin_amount = -1\ncooldown = \"soon\"\nbatch = \"0s\"\n\
             template = \"{amount}\"\nprompt = \"Say thanks\"",
        )
        .build("")
        .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key).collect();
        assert_eq!(
            keys,
            ["event", "min_amount", "cooldown", "batch", "template"],
            "{errors:?}"
        );
        assert!(errors[2].message.contains("`soon` is not a duration"));
        assert!(errors[3].message.contains("at least 1s"));
        assert!(errors[4].message.contains("not both"));
    }

    #[test]
    fn a_trigger_without_its_own_prompt_runs_the_workflows() {
        let t = spec("event = \"new_subscriber\"\ncooldown = \"0s\"")
            .build("Welcome them")
            .unwrap();
        assert_eq!(t.action, RuleAction::Prompt("Welcome them".into()));
        assert_eq!((t.cooldown, t.batch), (None, None));
        let own = spec("event = \"tip\"\ncooldown = \"1h\"\nprompt = \"Thank them\"")
            .build("Welcome them")
            .unwrap();
        assert_eq!(own.action, RuleAction::Prompt("Thank them".into()));
        assert_eq!(own.cooldown, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn placeholders_skip_what_is_not_a_name() {
        assert_eq!(
            placeholders("{a} {b_c} { x } {} {{d}"),
            vec!["a", "b_c", "d"]
        );
    }
}
