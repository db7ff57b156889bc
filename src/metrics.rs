//! Prometheus metrics, served at `GET /metrics`. One process-wide set: every part that
//! counts something reaches it through [`get`].

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PlatformLabel {
    pub platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabel {
    pub source: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabel {
    /// `team`, or `user:<id>` (refusals: `team` or `user`).
    pub scope: String,
}

/// A gauge of credits (fractional).
pub type CreditsGauge = Gauge<f64, std::sync::atomic::AtomicU64>;

pub struct Metrics {
    registry: Registry,
    pub messages: Family<PlatformLabel, Counter>,
    pub model_calls: Family<OutcomeLabel, Counter>,
    pub api_requests: Family<OutcomeLabel, Counter>,
    pub api_credits: Counter<f64, std::sync::atomic::AtomicU64>,
    pub actions: Family<OutcomeLabel, Counter>,
    pub ready: Gauge,
    /// Real-time events stored, by source and kind.
    pub events: Family<EventLabel, Counter>,
    /// Copies of events already stored (a sender's retry), by source and kind.
    pub event_duplicates: Family<EventLabel, Counter>,
    /// Event names a source sent that fanops does not know, by source.
    pub events_unknown: Family<SourceLabel, Counter>,
    /// Webhook calls refused for a missing, malformed or wrong signature, by source.
    pub signatures_refused: Family<SourceLabel, Counter>,
    /// What event rules did, by outcome (`sent`, `failed`, `batched`, …).
    pub alerts: Family<OutcomeLabel, Counter>,
    pub budget_used: Family<ScopeLabel, CreditsGauge>,
    pub budget_left: Family<ScopeLabel, CreditsGauge>,
    pub budget_refusals: Family<ScopeLabel, Counter>,
}

pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut registry = Registry::with_prefix("fanops");
        let m = Metrics {
            messages: Family::default(),
            model_calls: Family::default(),
            api_requests: Family::default(),
            api_credits: Counter::default(),
            actions: Family::default(),
            ready: Gauge::default(),
            events: Family::default(),
            event_duplicates: Family::default(),
            events_unknown: Family::default(),
            signatures_refused: Family::default(),
            alerts: Family::default(),
            budget_used: Family::default(),
            budget_left: Family::default(),
            budget_refusals: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "messages",
            "Messages handled, by platform",
            m.messages.clone(),
        );
        registry.register(
            "model_calls",
            "Model calls, by outcome",
            m.model_calls.clone(),
        );
        registry.register(
            "api_requests",
            "OnlyFansAPI requests, by outcome",
            m.api_requests.clone(),
        );
        registry.register(
            "api_credits",
            "OnlyFansAPI credits spent",
            m.api_credits.clone(),
        );
        registry.register(
            "actions",
            "Pending writes, by how they ended",
            m.actions.clone(),
        );
        registry.register(
            "ready",
            "1 when the store and every channel are up",
            m.ready.clone(),
        );
        registry.register(
            "events",
            "Real-time events stored, by source and kind",
            m.events.clone(),
        );
        registry.register(
            "event_duplicates",
            "Real-time events refused as copies of stored ones, by source and kind",
            m.event_duplicates.clone(),
        );
        registry.register(
            "events_unknown",
            "Real-time events with a name fanops does not know, by source",
            m.events_unknown.clone(),
        );
        registry.register(
            "webhook_signatures_refused",
            "Webhook calls refused for their signature, by source",
            m.signatures_refused.clone(),
        );
        registry.register(
            "alerts",
            "What event rules did with matching events, by outcome",
            m.alerts.clone(),
        );
        registry.register(
            "budget_used_credits",
            "Credits used of this month's budget, by scope, as this process last read the ledger",
            m.budget_used.clone(),
        );
        registry.register(
            "budget_left_credits",
            "Credits left of this month's budget, by scope, as this process last read the ledger",
            m.budget_left.clone(),
        );
        registry.register(
            "budget_refusals",
            "Model calls and web searches refused because a budget was spent, by scope",
            m.budget_refusals.clone(),
        );
        Metrics { registry, ..m }
    })
}

pub fn count(family: &Family<OutcomeLabel, Counter>, outcome: &str) {
    family
        .get_or_create(&OutcomeLabel {
            outcome: outcome.into(),
        })
        .inc();
}

/// The Prometheus text format.
pub fn render() -> String {
    let mut out = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut out, &get().registry);
    out
}
