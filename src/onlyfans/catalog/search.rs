//! Ranking catalog endpoints for a few plain words.
//!
//! The model looks endpoints up with the person's own words ("top spenders", "dm a fan"),
//! so the ranking is word overlap rather than exact names: each query word counts once,
//! at the weight of the best field it appears in, with light stemming so "earnings" meets
//! "earned", and a short list of agency words mapped to the catalog's words. It is
//! deliberately simple: 278 endpoints do not need an inverted index.

use super::{Effect, Endpoint, ParamLocation};

/// Where a word matches says how much it matters: a name beats a description.
const ID_OR_TITLE: f64 = 3.0;
const GROUP: f64 = 2.0;
const SUMMARY: f64 = 1.0;
const PARAMS: f64 = 0.5;
/// A synonym counts for less than the word itself, so an endpoint that uses the
/// person's own word wins.
const SYNONYM: f64 = 0.8;
/// Among equal matches, prefer the endpoint whose title the query covers best
/// ("List Tracking Links" over "List Shared Tracking Links").
const COVERAGE: f64 = 0.5;
/// Among equal matches, prefer the one that needs fewer ids in its path: a general
/// question ("tracking links") wants the list, not one link by id.
const PER_PATH_ID: f64 = 0.1;

/// Query words that say nothing about which endpoint is meant. Verbs such as "send"
/// or "delete" stay: they tell a write from a read.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "of",
    "for",
    "to",
    "from",
    "in",
    "on",
    "at",
    "by",
    "with",
    "and",
    "or",
    "my",
    "our",
    "me",
    "i",
    "we",
    "us",
    "this",
    "that",
    "these",
    "those",
    "last",
    "past",
    "week",
    "weekly",
    "month",
    "monthly",
    "today",
    "yesterday",
    "year",
    "how",
    "many",
    "much",
    "what",
    "which",
    "who",
    "is",
    "are",
    "was",
    "do",
    "does",
    "did",
    "get",
    "list",
    "show",
    "all",
    "please",
    "can",
    "you",
    "give",
    "see",
    "view",
    "per",
    "each",
    "some",
    "any",
];

/// Words agencies use, mapped to the words the catalog uses. Each alternative is a
/// phrase; a phrase matches as well as the mean of its words.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("earn", &["revenue"]),
    ("revenue", &["earn"]),
    ("income", &["earn", "revenue"]),
    ("money", &["earn", "revenue"]),
    ("made", &["earn"]),
    ("sale", &["earn", "transaction"]),
    ("profit", &["profitability"]),
    ("fan", &["subscriber"]),
    ("subscriber", &["fan"]),
    ("sub", &["subscriber", "fan"]),
    ("follower", &["fan", "subscriber"]),
    ("spender", &["top fan"]),
    ("whale", &["top fan"]),
    ("biggest", &["top"]),
    ("best", &["top"]),
    ("highest", &["top"]),
    ("most", &["top"]),
    ("dm", &["send message", "direct message"]),
    ("chat", &["message"]),
    ("message", &["chat"]),
    ("text", &["message"]),
    ("inbox", &["chat"]),
    ("conversation", &["chat"]),
    ("new", &["latest"]),
    ("recent", &["latest"]),
    ("stat", &["statistic"]),
    ("metric", &["statistic"]),
    ("analytic", &["statistic"]),
    ("performance", &["statistic"]),
    ("blast", &["mass message"]),
    ("broadcast", &["mass message"]),
    ("refund", &["chargeback"]),
    ("dispute", &["chargeback"]),
    ("campaign", &["tracking link"]),
    ("withdraw", &["payout"]),
    ("withdrawal", &["payout"]),
    ("cashout", &["payout"]),
    ("ppv", &["paid message", "price"]),
];

/// One endpoint's words, stemmed once when the catalog loads.
pub(super) struct Doc {
    names: Vec<String>,
    group: Vec<String>,
    summary: Vec<String>,
    params: Vec<String>,
    title: Vec<String>,
    path_ids: usize,
}

impl Doc {
    pub(super) fn new(endpoint: &Endpoint) -> Doc {
        // An id is `group-slug/title-slug`: each half weighs as much as what it spells.
        let (id_group, id_title) = endpoint.id.split_once('/').unwrap_or(("", &endpoint.id));
        let mut names = words(id_title);
        names.extend(words(&endpoint.title));
        let mut group = words(id_group);
        group.extend(words(&endpoint.group));
        Doc {
            names,
            group,
            summary: words(&endpoint.summary),
            params: endpoint
                .params
                .iter()
                .flat_map(|p| words(&p.name))
                .collect(),
            title: words(&endpoint.title)
                .into_iter()
                .filter(|w| !STOP_WORDS.contains(&w.as_str()))
                .collect(),
            path_ids: endpoint
                .params
                .iter()
                .filter(|p| p.location == ParamLocation::Path && p.name != "account")
                .count(),
        }
    }

    fn weight(&self, stem: &str) -> f64 {
        let has = |field: &[String]| field.iter().any(|w| w == stem);
        if has(&self.names) {
            ID_OR_TITLE
        } else if has(&self.group) {
            GROUP
        } else if has(&self.summary) {
            SUMMARY
        } else if has(&self.params) {
            PARAMS
        } else {
            0.0
        }
    }

    /// `None` when no query word matches at all.
    fn score(&self, query: &[Alternatives]) -> Option<f64> {
        let mut total = 0.0;
        for alternatives in query {
            let best = alternatives
                .iter()
                .map(|(phrase, factor)| {
                    let sum: f64 = phrase.iter().map(|w| self.weight(w)).sum();
                    factor * sum / phrase.len().max(1) as f64
                })
                .fold(0.0, f64::max);
            total += best;
        }
        if total <= 0.0 {
            return None;
        }
        let covered = self
            .title
            .iter()
            .filter(|w| query.iter().flatten().any(|(p, _)| p.contains(w)))
            .count();
        let coverage = covered as f64 / self.title.len().max(1) as f64;
        Some(total + COVERAGE * coverage - PER_PATH_ID * self.path_ids as f64)
    }
}

/// One query word: the word itself, then its synonyms, each with its weight factor.
type Alternatives = Vec<(Vec<String>, f64)>;

fn parse_query(query: &str) -> Vec<Alternatives> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for raw in tokens(query) {
        if STOP_WORDS.contains(&raw.as_str()) {
            continue;
        }
        let word = stem(&raw);
        if seen.contains(&word) {
            continue;
        }
        seen.push(word.clone());
        let mut alternatives = vec![(vec![word.clone()], 1.0)];
        if let Some((_, extra)) = SYNONYMS.iter().find(|(key, _)| stem(key) == word) {
            alternatives.extend(extra.iter().map(|phrase| (words(phrase), SYNONYM)));
        }
        out.push(alternatives);
    }
    out
}

/// Endpoints matching `query`, best first. Callable endpoints always come before the
/// ones without a path: the model should reach for something it can use.
pub(super) fn rank<'a>(
    endpoints: &'a [Endpoint],
    docs: &[Doc],
    query: &str,
    limit: usize,
) -> Vec<&'a Endpoint> {
    let query = parse_query(query);
    if query.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(f64, &Endpoint)> = endpoints
        .iter()
        .zip(docs)
        .filter_map(|(e, doc)| doc.score(&query).map(|s| (s, e)))
        .collect();
    scored.sort_by(|(score_a, a), (score_b, b)| {
        a.path
            .is_none()
            .cmp(&b.path.is_none())
            .then(score_b.total_cmp(score_a))
            .then((a.effect == Effect::Write).cmp(&(b.effect == Effect::Write)))
            .then(a.id.cmp(&b.id))
    });
    scored.into_iter().take(limit).map(|(_, e)| e).collect()
}

/// Lower-case words of `text`, split at punctuation and at camelCase humps (parameter
/// names such as `publishDateStart`); single letters are dropped.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        let boundary = !c.is_alphanumeric() || (c.is_uppercase() && previous_lower);
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.retain(|w| w.chars().count() > 1);
    out
}

pub(super) fn words(text: &str) -> Vec<String> {
    tokens(text).iter().map(|w| stem(w)).collect()
}

/// A small suffix stripper. It only has to map the forms people type onto the forms the
/// catalog uses, so both sides go through it and it need not produce real words:
/// "message", "messages" and "messaging" all become "messag".
pub(super) fn stem(word: &str) -> String {
    let mut w = word.to_string();
    if w.len() <= 2 {
        return w;
    }
    if let Some(base) = w.strip_suffix("ies").filter(|b| b.len() >= 2) {
        return format!("{base}y");
    }
    if w.ends_with('s') && !["ss", "us", "is"].iter().any(|s| w.ends_with(s)) {
        w.pop();
    }
    for suffix in ["ing", "ed"] {
        if let Some(base) = w.strip_suffix(suffix).filter(|b| b.len() >= 3) {
            w = undouble(base);
            break;
        }
    }
    if w.len() > 3 && w.ends_with('e') && !w.ends_with("ee") {
        w.pop();
    }
    w
}

/// "tagg" (from "tagged") → "tag", "pinn" → "pin"; "bill" keeps its double l.
fn undouble(base: &str) -> String {
    let bytes = base.as_bytes();
    let n = bytes.len();
    let doubled = n >= 4 && bytes[n - 1] == bytes[n - 2] && !b"lsz".contains(&bytes[n - 1]);
    if doubled {
        base[..n - 1].to_string()
    } else {
        base.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onlyfans::catalog::Catalog;

    #[test]
    fn stems_meet_across_word_forms() {
        for (a, b) in [
            ("earnings", "earned"),
            ("earning", "earn"),
            ("messages", "messaging"),
            ("message", "messages"),
            ("fans", "fan"),
            ("subscribers", "subscriber"),
            ("stories", "story"),
            ("tagged", "tag"),
            ("statuses", "status"),
            ("tracking", "track"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(words("publishDateStart filter[total_spent]").len(), 6);
    }

    /// Realistic questions and the endpoint that should be among the first three.
    const CASES: &[(&str, &str)] = &[
        ("earnings this week", "statistics/get-earnings"),
        ("how much money did we make", "statistics/get-earnings"),
        ("top fans", "fans/list-top-fans"),
        ("biggest spenders", "fans/list-top-fans"),
        ("send message to fan", "chat-messages/send-message"),
        ("dm a fan", "chat-messages/send-message"),
        ("tracking links", "tracking-links/list-tracking-links"),
        ("campaign performance", "tracking-links/list-tracking-links"),
        ("free trial links", "free-trial-links/list-free-trial-links"),
        ("new subscribers", "statistics/get-subscriber-metrics"),
        ("chargebacks", "chargebacks/list-chargebacks"),
        ("refunds", "chargebacks/list-chargebacks"),
        ("mass message stats", "engagement-messages/mass-messages"),
        ("transactions", "transactions/list-transactions"),
        ("payout balance", "payouts/get-account-balances"),
        ("unread chats", "chats/list-chats"),
        ("all our accounts", "account/list-accounts"),
        ("profile visitors", "statistics/get-profile-visitors"),
        (
            "revenue forecast",
            "analytics-financial/get-revenue-forecast",
        ),
        ("queued posts", "queue/list-queue-items"),
    ];

    #[test]
    fn agency_questions_find_the_right_endpoint() {
        let catalog = Catalog::embedded();
        for (query, expected) in CASES {
            let top: Vec<&str> = catalog
                .search(query, 3)
                .iter()
                .map(|e| e.id.as_str())
                .collect();
            assert!(top.contains(expected), "{query:?} → {top:?}");
        }
    }

    #[test]
    fn ties_prefer_reads_and_uncallable_endpoints_come_last() {
        let catalog = Catalog::embedded();
        let found = catalog.search("drm settings", 50);
        let first_uncallable = found.iter().position(|e| e.path.is_none()).unwrap();
        assert!(found[first_uncallable..].iter().all(|e| e.path.is_none()));
        let top = catalog.search("tracking link tags", 2);
        assert_eq!(top[0].effect, Effect::Read, "{}", top[0].id);
    }

    #[test]
    fn empty_or_meaningless_queries_find_nothing() {
        let catalog = Catalog::embedded();
        assert!(catalog.search("", 5).is_empty());
        assert!(catalog.search("the of a", 5).is_empty());
        assert!(catalog.search("zzzqqq", 5).is_empty());
        assert_eq!(catalog.search("fans", 4).len(), 4);
    }
}
