//! Semantic checks of a loaded config; each problem is located at its key's line.

use super::{locate::PathPart, parse_duration, Config, Locator, LogFormat, Problem, Report};
use std::time::Duration;

mod folders;

/// A shorter wait would expire a pending write before a person can read it.
const MIN_CONFIRM_TTL: Duration = Duration::from_secs(30);

pub(super) fn validate(
    config: &Config,
    origin: &str,
    locator: &Locator,
    dropped: &[Vec<PathPart>],
    problems: &mut Vec<Problem>,
) {
    let mut r = Report::new(config, origin, locator, dropped, problems);
    validate_basics(&mut r);
    validate_llm(&mut r);
    validate_agent(&mut r);
    validate_platforms(&mut r);
    r.duration(&["scheduler", "grace"], &config.scheduler.grace);
    r.duration(
        &["scheduler", "delivery_retry"],
        &config.scheduler.delivery_retry,
    );
    folders::validate_folders(&mut r);
    validate_integrations(&mut r);
    validate_events(&mut r);
    validate_budgets(&mut r);
    validate_team(&mut r);
    validate_log(&mut r);
}

/// `[team] requests_to` names a configured connection and a chat on it.
fn validate_team(r: &mut Report<'_>) {
    let Some(to) = &r.config.team.requests_to else {
        return;
    };
    let configured = r.config.connection_names();
    if !configured.contains(&to.channel) {
        let names: Vec<&str> = configured.iter().map(String::as_str).collect();
        r.at(
            &["team", "requests_to", "channel"],
            format!(
                "requests_to channel `{}` must be a configured connection (configured: {})",
                to.channel,
                listed(&names, "none")
            ),
        );
    }
    if to.to.trim().is_empty() {
        r.at(
            &["team", "requests_to", "to"],
            "requests_to needs `to`: the chat or channel id where access requests are posted",
        );
    }
}

/// The time zone, the database, the listener and the OnlyFansAPI client.
fn validate_basics(r: &mut Report<'_>) {
    let config = r.config;
    if config.timezone.parse::<chrono_tz::Tz>().is_err() {
        r.at(
            &["timezone"],
            format!(
                "unknown time zone `{}` (use an IANA name such as \"Europe/London\")",
                config.timezone
            ),
        );
    }
    let db = &config.database.url;
    if !(db.starts_with("sqlite:")
        || db.starts_with("postgres://")
        || db.starts_with("postgresql://"))
    {
        r.at(
            &["database", "url"],
            format!("`{db}` must start with sqlite: or postgres://"),
        );
    }
    if config
        .server
        .listen
        .parse::<std::net::SocketAddr>()
        .is_err()
    {
        r.at(
            &["server", "listen"],
            format!(
                "`{}` is not an address such as \"127.0.0.1:8080\"",
                config.server.listen
            ),
        );
    }
    r.duration(&["server", "shutdown_grace"], &config.server.shutdown_grace);
    r.url(&["onlyfans", "base_url"], &config.onlyfans.base_url);
    if config.onlyfans.requests_per_minute == 0 {
        r.at(
            &["onlyfans", "requests_per_minute"],
            "requests_per_minute must be at least 1",
        );
    }
    r.duration(&["onlyfans", "timeout"], &config.onlyfans.timeout);
    r.duration(
        &["onlyfans", "rate_limit_window"],
        &config.onlyfans.rate_limit_window,
    );
    if parse_duration(&config.onlyfans.rate_limit_window).is_some_and(|d| d.is_zero()) {
        r.at(
            &["onlyfans", "rate_limit_window"],
            "rate_limit_window must be longer than 0s",
        );
    }
}

fn validate_log(r: &mut Report<'_>) {
    let config = r.config;
    if LogFormat::parse(&config.log.format).is_none() {
        r.at(
            &["log", "format"],
            format!(
                "log format `{}` must be one of: {}",
                config.log.format,
                LogFormat::NAMES.join(", ")
            ),
        );
    }
}

/// Model alias `alias`: a known provider, the provider's id, its prices.
fn validate_model(r: &mut Report<'_>, alias: &str, model: &super::ModelConfig) {
    let llm = &r.config.llm;
    if !llm.providers.contains_key(&model.provider)
        && !r.dropped(&["llm", "providers", &model.provider])
    {
        let known: Vec<_> = llm.providers.keys().map(String::as_str).collect();
        r.at(
            &["llm", "models", alias, "provider"],
            format!(
                "model `{alias}` uses unknown provider `{}` (known: {})",
                model.provider,
                known.join(", ")
            ),
        );
    }
    if model.id.trim().is_empty() {
        r.at(
            &["llm", "models", alias, "id"],
            format!("model `{alias}` needs the provider's model id"),
        );
    }
    let transcribes = llm.transcription.as_ref().is_some_and(|t| t.model == alias);
    for (key, price) in [
        ("usd_per_mtok_input", model.usd_per_mtok_input),
        ("usd_per_mtok_output", model.usd_per_mtok_output),
    ] {
        if transcribes && price.is_none() {
            continue; // priced per minute under [llm.transcription]
        }
        match price {
            None => r.at(
                &["llm", "models", alias, key],
                format!("model `{alias}` has no price: set {key} (US dollars per million tokens)"),
            ),
            Some(p) if p.is_nan() || p < 0.0 => r.at(
                &["llm", "models", alias, key],
                format!("{key} must not be negative"),
            ),
            Some(_) => {}
        }
    }
}

fn validate_llm(r: &mut Report<'_>) {
    let llm = &r.config.llm;
    if llm.credits_per_usd.is_nan() || llm.credits_per_usd <= 0.0 {
        r.at(
            &["llm", "credits_per_usd"],
            "credits_per_usd must be greater than 0",
        );
    }
    for (name, provider) in &llm.providers {
        r.url(&["llm", "providers", name, "base_url"], &provider.base_url);
        if provider.api_key_env.trim().is_empty() {
            r.at(
                &["llm", "providers", name, "api_key_env"],
                "api_key_env must name an environment variable",
            );
        }
    }
    for (alias, model) in &llm.models {
        validate_model(r, alias, model);
    }
    validate_fallbacks(r);
    validate_transcription(r);
    if !llm.models.contains_key(&llm.default_model)
        && !r.dropped(&["llm", "models", &llm.default_model])
    {
        let known: Vec<_> = llm.models.keys().map(String::as_str).collect();
        r.at(
            &["llm", "default_model"],
            format!(
                "default_model `{}` is not a model alias (known: {})",
                llm.default_model,
                known.join(", ")
            ),
        );
    }
}

/// `[llm.transcription]`: a model alias, a price per minute, a positive length limit.
fn validate_transcription(r: &mut Report<'_>) {
    let llm = &r.config.llm;
    let Some(t) = &llm.transcription else {
        return;
    };
    if !llm.models.contains_key(&t.model) {
        let known: Vec<&str> = llm.models.keys().map(String::as_str).collect();
        r.at(
            &["llm", "transcription", "model"],
            format!(
                "transcription model `{}` is not a model alias (known: {}); add it under [llm.models] with its provider and id (e.g. whisper-1)",
                t.model,
                listed(&known, "none")
            ),
        );
    }
    match t.usd_per_minute {
        None => r.at(
            &["llm", "transcription"],
            "[llm.transcription] needs usd_per_minute, the price of a minute of audio (OpenAI whisper-1: 0.006)",
        ),
        Some(p) if p.is_nan() || p < 0.0 => r.at(
            &["llm", "transcription", "usd_per_minute"],
            "usd_per_minute must not be negative",
        ),
        Some(_) => {}
    }
    let unpriced = llm
        .models
        .get(&t.model)
        .is_some_and(|m| m.usd_per_mtok_input.is_none() || m.usd_per_mtok_output.is_none());
    if unpriced && llm.default_model == t.model {
        r.at(
            &["llm", "default_model"],
            format!(
                "default_model `{}` has no per-token prices, so it can only transcribe; name a chat model",
                t.model
            ),
        );
    }
    if t.max_minutes.is_nan() || t.max_minutes <= 0.0 {
        r.at(
            &["llm", "transcription", "max_minutes"],
            "max_minutes must be greater than 0",
        );
    }
}

/// Each fallback is a model alias, and following fallbacks never leads back to where it
/// started (`a` → `b` → `a`): a loop would only ask the failing providers again.
fn validate_fallbacks(r: &mut Report<'_>) {
    let models = &r.config.llm.models;
    for (alias, model) in models {
        for (i, next) in model.fallbacks.iter().enumerate() {
            let at = ["llm", "models", alias.as_str(), "fallbacks"];
            if !models.contains_key(next) {
                let known: Vec<&str> = models.keys().map(String::as_str).collect();
                r.at(
                    &at,
                    format!(
                        "fallback `{next}` of model `{alias}` is not a model alias (known: {})",
                        listed(&known, "none")
                    ),
                );
            } else if let Some(path) = back_to(models, alias, next) {
                r.at(
                    &at,
                    format!(
                        "fallbacks of model `{alias}` go round in a circle: {}",
                        path.join(" → ")
                    ),
                );
            } else if model.fallbacks[..i].contains(next) {
                r.at(
                    &at,
                    format!("fallback `{next}` of model `{alias}` is listed twice"),
                );
            }
        }
    }
}

/// The path `from` → `next` → … → `from`, if following fallbacks from `next` reaches `from`.
fn back_to<'a>(
    models: &'a std::collections::BTreeMap<String, super::ModelConfig>,
    from: &'a str,
    next: &'a str,
) -> Option<Vec<&'a str>> {
    let mut stack = vec![vec![from, next]];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = *path.last().expect("a path has a start");
        if last == from && path.len() > 1 {
            return Some(path);
        }
        if !seen.insert(last) {
            continue;
        }
        for following in models
            .get(last)
            .map(|m| m.fallbacks.as_slice())
            .unwrap_or_default()
        {
            let mut longer = path.clone();
            longer.push(following.as_str());
            stack.push(longer);
        }
    }
    None
}

fn validate_agent(r: &mut Report<'_>) {
    let agent = &r.config.agent;
    if !(1..=50).contains(&agent.max_steps) {
        r.at(
            &["agent", "max_steps"],
            "max_steps must be between 1 and 50",
        );
    }
    if agent.history_tokens < 500 {
        r.at(
            &["agent", "history_tokens"],
            "history_tokens must be at least 500",
        );
    }
    if agent.tool_result_chars < 500 {
        r.at(
            &["agent", "tool_result_chars"],
            "tool_result_chars must be at least 500",
        );
    }
    r.duration(&["agent", "confirm_ttl"], &agent.confirm_ttl);
    if parse_duration(&agent.confirm_ttl).is_some_and(|ttl| ttl < MIN_CONFIRM_TTL) {
        r.at(
            &["agent", "confirm_ttl"],
            format!(
                "confirm_ttl must be at least {}s: people need time to press Confirm",
                MIN_CONFIRM_TTL.as_secs()
            ),
        );
    }
    r.duration(&["agent", "accounts_cache"], &agent.accounts_cache);
}

/// The MCP servers and web search.
fn validate_integrations(r: &mut Report<'_>) {
    let mut names = std::collections::BTreeSet::new();
    for (i, mcp) in r.config.mcp.clone().iter().enumerate() {
        validate_mcp(r, i, mcp, &mut names);
    }
    let config = r.config;
    if let Some(ws) = &config.web_search {
        validate_web_search(r, ws);
    }
}

/// `[[mcp]]` number `i`: a unique name fit for tool names, and one of url or command.
fn validate_mcp(
    r: &mut Report<'_>,
    i: usize,
    mcp: &super::McpConfig,
    names: &mut std::collections::BTreeSet<String>,
) {
    let at = |key: &str| {
        vec![
            PathPart::Key("mcp".into()),
            PathPart::Index(i),
            PathPart::Key(key.into()),
        ]
    };
    if mcp.name.trim().is_empty() || !names.insert(mcp.name.clone()) {
        r.at_path(
            &at("name"),
            format!(
                "MCP server name `{}` must be non-empty and unique",
                mcp.name
            ),
        );
    }
    if mcp.name.contains("__")
        || !mcp
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        r.at_path(
            &at("name"),
            format!(
                "MCP server name `{}` may use letters, digits, `-` and single `_` only (tools are named mcp__<server>__<tool>)",
                mcp.name
            ),
        );
    }
    match (&mcp.url, &mcp.command) {
        (Some(url), None) => {
            if url::Url::parse(url).is_err() {
                r.at_path(&at("url"), format!("`{url}` is not a valid URL"));
            }
        }
        (None, Some(cmd)) if !cmd.is_empty() => {}
        _ => r.at_path(
            &at("name"),
            format!(
                "MCP server `{}` needs exactly one of url or command",
                mcp.name
            ),
        ),
    }
}

/// `[web_search]`: a provider fanops knows, with its key variable or address.
fn validate_web_search(r: &mut Report<'_>, ws: &super::WebSearchConfig) {
    if !matches!(ws.provider.as_str(), "brave" | "searxng" | "tavily") {
        r.at(
            &["web_search", "provider"],
            format!(
                "web search provider `{}` must be brave, searxng or tavily",
                ws.provider
            ),
        );
    }
    let keyed = matches!(ws.provider.as_str(), "brave" | "tavily");
    if keyed
        && ws
            .api_key_env
            .as_deref()
            .is_none_or(|e| e.trim().is_empty())
    {
        r.at(
            &["web_search", "provider"],
            format!(
                "web search provider `{}` needs api_key_env, the environment variable holding its key",
                ws.provider
            ),
        );
    }
    if ws.provider == "searxng" && ws.api_url.is_none() {
        r.at(
            &["web_search", "provider"],
            "searxng needs api_url, the address of your instance",
        );
    }
    if let Some(url) = &ws.api_url {
        if url::Url::parse(url).is_err() {
            r.at(
                &["web_search", "api_url"],
                format!("`{url}` is not a valid URL"),
            );
        }
    }
    if ws.usd_per_search.is_nan() || ws.usd_per_search < 0.0 {
        r.at(
            &["web_search", "usd_per_search"],
            "usd_per_search must not be negative",
        );
    }
}

fn validate_events(r: &mut Report<'_>) {
    let events = r.config.events.clone();
    let mut names = std::collections::BTreeSet::new();
    for (i, relay) in events.relay.iter().enumerate() {
        let at = |key: &str| {
            vec![
                PathPart::Key("events".into()),
                PathPart::Key("relay".into()),
                PathPart::Index(i),
                PathPart::Key(key.into()),
            ]
        };
        if relay.name.trim().is_empty() || !names.insert(relay.name.clone()) {
            r.at_path(
                &at("name"),
                format!("relay name `{}` must be non-empty and unique", relay.name),
            );
        }
        if !super::RELAY_KINDS.contains(&relay.kind.as_str()) {
            r.at_path(
                &at("kind"),
                format!(
                    "relay kind `{}` must be one of: {}",
                    relay.kind,
                    super::RELAY_KINDS.join(", ")
                ),
            );
        }
        match url::Url::parse(&relay.url) {
            Ok(u) if matches!(u.scheme(), "ws" | "wss") && u.host().is_some() => {
                let secret_in_url = u
                    .query_pairs()
                    .any(|(k, _)| k.eq_ignore_ascii_case("api_key"));
                if secret_in_url {
                    r.at_path(
                        &at("url"),
                        "the relay URL must not hold the key: it is sent as the X-API-Key header from api_key_env",
                    );
                }
            }
            Ok(u) => r.at_path(
                &at("url"),
                format!(
                    "`{}` must be a ws:// or wss:// URL (got scheme `{}`)",
                    relay.url,
                    u.scheme()
                ),
            ),
            Err(e) => r.at_path(
                &at("url"),
                format!("`{}` is not a valid URL: {e}", relay.url),
            ),
        }
        if relay.api_key_env.trim().is_empty() {
            r.at_path(
                &at("api_key_env"),
                "api_key_env must name the environment variable holding the relay's key",
            );
        }
    }
}

fn validate_budgets(r: &mut Report<'_>) {
    let Some(budgets) = r.config.budgets.clone() else {
        return;
    };
    for (key, credits) in [
        ("monthly_credits", budgets.monthly_credits),
        ("user_monthly_credits", budgets.user_monthly_credits),
    ] {
        if credits.is_some_and(|c| c.is_nan() || c < 0.0) {
            r.at(
                &["budgets", key],
                format!("{key} must be 0 or more credits"),
            );
        }
    }
    if budgets.warn_at.is_nan() || budgets.warn_at <= 0.0 || budgets.warn_at > 1.0 {
        r.at(
            &["budgets", "warn_at"],
            format!(
                "warn_at must be a share of the budget above 0 and at most 1 (e.g. 0.8), not {}",
                budgets.warn_at
            ),
        );
    }
    if let Some(notify) = &budgets.notify {
        let configured = r.config.connection_names();
        if !configured.contains(&notify.channel) {
            let names: Vec<&str> = configured.iter().map(String::as_str).collect();
            r.at(
                &["budgets", "notify", "channel"],
                format!(
                    "notify channel `{}` must be a configured connection: a [channels.<platform>] section or one of its accounts (configured: {})",
                    notify.channel,
                    listed(&names, "none")
                ),
            );
        }
        if notify.to.trim().is_empty() {
            r.at(
                &["budgets", "notify", "to"],
                "notify needs `to`: the chat or channel id to post to",
            );
        }
    }
}

/// Each `[channels.<name>]` section is checked by its platform; a name no platform has is
/// a mistake, and a platform this build lacks was warned about already.
fn validate_platforms(r: &mut Report<'_>) {
    let config = r.config;
    for name in config.channels.names() {
        match config.platforms.get(name) {
            Some(platform) if platform.unbuilt().is_none() => platform.check(r),
            Some(_) => {}
            None => r.at(
                &["channels", name],
                format!(
                    "unknown key `channels.{name}`: fanops knows {}",
                    listed(
                        &config
                            .platforms
                            .iter()
                            .map(|p| p.name())
                            .collect::<Vec<_>>(),
                        "no chat platform"
                    )
                ),
            ),
        }
    }
}

/// `names` as a list, or `none` when there are none.
fn listed(names: &[&str], none: &str) -> String {
    match names.is_empty() {
        true => none.to_string(),
        false => names.join(", "),
    }
}
