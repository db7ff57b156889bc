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

/// The process-wide metrics, registered on first use.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::registered)
}

impl Metrics {
    /// A full set, each metric registered under the `fanops_` prefix.
    fn registered() -> Self {
        let mut registry = Registry::with_prefix("fanops");
        let m = Metrics::unregistered();
        m.register_turns(&mut registry);
        m.register_events(&mut registry);
        m.register_budgets(&mut registry);
        Metrics { registry, ..m }
    }

    /// Every metric at zero, in an empty registry of its own.
    fn unregistered() -> Self {
        Metrics {
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
        }
    }

    /// What answering people costs and does: messages, model calls, API requests and
    /// credits, pending writes, readiness.
    fn register_turns(&self, registry: &mut Registry) {
        registry.register(
            "messages",
            "Messages handled, by platform",
            self.messages.clone(),
        );
        registry.register(
            "model_calls",
            "Model calls, by outcome",
            self.model_calls.clone(),
        );
        registry.register(
            "api_requests",
            "OnlyFansAPI requests, by outcome",
            self.api_requests.clone(),
        );
        registry.register(
            "api_credits",
            "OnlyFansAPI credits spent",
            self.api_credits.clone(),
        );
        registry.register(
            "actions",
            "Pending writes, by how they ended",
            self.actions.clone(),
        );
        registry.register(
            "ready",
            "1 when the store and every channel are up",
            self.ready.clone(),
        );
    }

    /// What real-time events arrive and what the rules do with them.
    fn register_events(&self, registry: &mut Registry) {
        registry.register(
            "events",
            "Real-time events stored, by source and kind",
            self.events.clone(),
        );
        registry.register(
            "event_duplicates",
            "Real-time events refused as copies of stored ones, by source and kind",
            self.event_duplicates.clone(),
        );
        registry.register(
            "events_unknown",
            "Real-time events with a name fanops does not know, by source",
            self.events_unknown.clone(),
        );
        registry.register(
            "webhook_signatures_refused",
            "Webhook calls refused for their signature, by source",
            self.signatures_refused.clone(),
        );
        registry.register(
            "alerts",
            "What event rules did with matching events, by outcome",
            self.alerts.clone(),
        );
    }

    /// Where the month's budgets stand and what they refused.
    fn register_budgets(&self, registry: &mut Registry) {
        registry.register(
            "budget_used_credits",
            "Credits used of this month's budget, by scope, as this process last read the ledger",
            self.budget_used.clone(),
        );
        registry.register(
            "budget_left_credits",
            "Credits left of this month's budget, by scope, as this process last read the ledger",
            self.budget_left.clone(),
        );
        registry.register(
            "budget_refusals",
            "Model calls and web searches refused because a budget was spent, by scope",
            self.budget_refusals.clone(),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `m` with one series in each family, since an empty family prints nothing.
    fn render_touched(m: &Metrics) -> String {
        let platform = PlatformLabel {
            platform: "console".into(),
        };
        let outcome = OutcomeLabel {
            outcome: "ok".into(),
        };
        let event = EventLabel {
            source: "onlyfansapi".into(),
            kind: "message".into(),
        };
        let source = SourceLabel {
            source: "ofauth".into(),
        };
        let scope = ScopeLabel {
            scope: "team".into(),
        };
        m.messages.get_or_create(&platform).inc();
        for family in [&m.model_calls, &m.api_requests, &m.actions, &m.alerts] {
            family.get_or_create(&outcome).inc();
        }
        m.events.get_or_create(&event).inc();
        m.event_duplicates.get_or_create(&event).inc();
        m.events_unknown.get_or_create(&source).inc();
        m.signatures_refused.get_or_create(&source).inc();
        m.budget_used.get_or_create(&scope).set(1.0);
        m.budget_left.get_or_create(&scope).set(2.0);
        m.budget_refusals.get_or_create(&scope).inc();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &m.registry).unwrap();
        out
    }

    #[test]
    fn every_metric_is_registered_under_the_prefix() {
        let names = [
            "messages",
            "model_calls",
            "api_requests",
            "api_credits",
            "actions",
            "ready",
            "events",
            "event_duplicates",
            "events_unknown",
            "webhook_signatures_refused",
            "alerts",
            "budget_used_credits",
            "budget_left_credits",
            "budget_refusals",
        ];
        let text = render_touched(&Metrics::registered());
        for name in names {
            let help = format!("# HELP fanops_{name} ");
            assert!(text.contains(&help), "{name} missing from:\n{text}");
        }
        assert_eq!(text.matches("# HELP ").count(), names.len(), "{text}");
    }
}
