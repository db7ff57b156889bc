//! Ranking catalog endpoints for plain words: weighted word overlap with light stemming
//! and a few words agencies use for the catalog's terms.

use super::{Effect, Endpoint};

/// Words people say, mapped to the words the catalog uses.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("earn", &["earning"]),
    ("revenue", &["earning"]),
    ("income", &["earning"]),
    ("money", &["earning"]),
    ("made", &["earning"]),
    ("sale", &["earning", "transaction"]),
    ("spender", &["top", "fan"]),
    ("whale", &["top", "fan"]),
    ("subscriber", &["fan", "subscriber"]),
    ("sub", &["subscriber"]),
    ("dm", &["chat", "message"]),
    ("text", &["message"]),
    ("mass", &["mass"]),
    ("blast", &["mass", "message"]),
    ("payout", &["payout"]),
    ("withdraw", &["withdrawal", "payout"]),
    ("refund", &["chargeback"]),
    ("link", &["link"]),
    ("campaign", &["tracking", "link"]),
    ("trial", &["trial"]),
    ("visitor", &["visitor"]),
    ("stat", &["statistic"]),
];

const STOP: &[&str] = &[
    "the", "a", "an", "of", "for", "to", "my", "our", "me", "how", "what", "is", "are", "list",
    "get", "this", "week", "month", "today", "and", "in", "on", "with", "by", "all",
];

/// Lower-case word stems: "earnings" → "earning", "fans" → "fan".
pub(super) fn stems(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| stem(&w.to_lowercase()))
        .collect()
}

fn stem(word: &str) -> String {
    let w = word;
    for suffix in ["ies"] {
        if let Some(base) = w.strip_suffix(suffix).filter(|b| b.len() > 2) {
            return format!("{base}y");
        }
    }
    if let Some(base) = w.strip_suffix("ed").filter(|b| b.len() > 3) {
        return base.to_string();
    }
    if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

fn query_terms(query: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for word in stems(query) {
        if STOP.contains(&word.as_str()) {
            continue;
        }
        if let Some((_, extra)) = SYNONYMS.iter().find(|(w, _)| *w == word) {
            terms.extend(extra.iter().map(|s| s.to_string()));
        }
        terms.push(word);
    }
    terms.sort();
    terms.dedup();
    terms
}

fn score(endpoint: &Endpoint, terms: &[String]) -> f64 {
    let fields: [(Vec<String>, f64); 5] = [
        (stems(&endpoint.id), 3.0),
        (stems(&endpoint.title), 3.0),
        (stems(&endpoint.group), 2.0),
        (stems(&endpoint.summary), 1.0),
        (
            endpoint
                .params
                .iter()
                .flat_map(|p| stems(&p.name))
                .collect(),
            0.5,
        ),
    ];
    let mut total = 0.0;
    for term in terms {
        let best = fields
            .iter()
            .filter(|(words, _)| words.iter().any(|w| w == term))
            .map(|(_, weight)| *weight)
            .fold(0.0, f64::max);
        total += best;
    }
    // Among equal matches prefer the most specific title ("List Tracking Links" over
    // "List Shared Tracking Link Tags").
    total - 0.01 * stems(&endpoint.title).len() as f64
}

pub(super) fn rank<'a>(endpoints: &'a [Endpoint], query: &str, limit: usize) -> Vec<&'a Endpoint> {
    let terms = query_terms(query);
    let mut scored: Vec<(f64, &Endpoint)> = endpoints
        .iter()
        .map(|e| (score(e, &terms), e))
        .filter(|(s, _)| *s > 0.0)
        .collect();
    scored.sort_by(|(sa, a), (sb, b)| {
        let key = |e: &Endpoint| (e.path.is_none(), e.effect == Effect::Write);
        key(a)
            .0
            .cmp(&key(b).0)
            .then(sb.total_cmp(sa))
            .then(key(a).1.cmp(&key(b).1))
            .then(a.id.cmp(&b.id))
    });
    scored.into_iter().take(limit).map(|(_, e)| e).collect()
}
