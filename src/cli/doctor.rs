//! `fanops doctor`: for the config as it is, asks each live service whether fanops can
//! work with it — OnlyFansAPI, each model, the database, each MCP server, web search, and
//! each chat connection (its platform's folder says how) — and prints one line per part:
//! `ok`, `warn` or `FAIL` with what to do. Secrets are never printed.
//!
//! The checks run concurrently, each within [`TIMEOUT`], and print in a fixed order;
//! the exit code is 1 when any line fails.

use crate::channels::{Check, Finding, Verdict, PLATFORMS};
use crate::config::{Config, ModelConfig};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

/// The longest one check may take before its line says the service did not answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check and prints its lines in order; exit 1 when any fails.
pub async fn doctor(config: Config) -> ExitCode {
    crate::app::install_tls_provider();
    let findings = run_checks(checks(&config)).await;
    for finding in &findings {
        println!("{finding}");
    }
    let failed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fail)
        .count();
    if failed > 0 {
        println!("{failed} part(s) need fixing.");
        return ExitCode::FAILURE;
    }
    println!("Everything fanops needs answers.");
    ExitCode::SUCCESS
}

/// Every check of `config`, in the order the lines print.
fn checks(config: &Config) -> Vec<Check<'_>> {
    let mut checks = vec![Check::new("OnlyFansAPI", onlyfans(config))];
    checks.extend(models(config));
    checks.push(Check::new("Database", database(config)));
    checks.extend(mcp(config));
    if let Some(search) = &config.web_search {
        checks.push(Check::new(
            "Web search",
            web_search(config, &search.provider),
        ));
    }
    for platform in PLATFORMS {
        checks.extend(platform.doctor(config));
    }
    if config.channels.names().next().is_none() {
        checks.push(Check::new("Chat platforms", async {
            vec![Finding::warn(
                "Chat platforms",
                "none is configured, so the team cannot reach fanops yet (only `fanops chat` can): `fanops init` sets one up",
            )]
        }));
    }
    checks
}

/// All at once, each within [`TIMEOUT`]; the findings in the checks' order.
async fn run_checks(checks: Vec<Check<'_>>) -> Vec<Finding> {
    let runs = checks.into_iter().map(|check| async move {
        match tokio::time::timeout(TIMEOUT, check.run).await {
            Ok(findings) => findings,
            Err(_) => vec![Finding::fail(
                check.part,
                format!(
                    "no answer within {} s — check the URL in the config and the network",
                    TIMEOUT.as_secs()
                ),
            )],
        }
    });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("fanops/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// A GET with a bearer key: the status and the JSON body (`Null` when it is not JSON).
async fn get_json(url: &str, key: &str) -> Result<(u16, Value), String> {
    let response = http()
        .get(url)
        .bearer_auth(key)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("could not be reached: {}", e.without_url()))?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// `GET /api/accounts`: the key is accepted, and how many accounts it has connected.
async fn onlyfans(config: &Config) -> Vec<Finding> {
    let part = "OnlyFansAPI";
    let Some(key) = config.secrets.onlyfansapi_api_key.expose() else {
        return vec![Finding::fail(
            part,
            "ONLYFANSAPI_API_KEY is not set — export the key from the OnlyFansAPI.com dashboard",
        )];
    };
    let url = format!(
        "{}/api/accounts",
        config.onlyfans.base_url.trim_end_matches('/')
    );
    let (status, body) = match get_json(&url, key).await {
        Ok(answer) => answer,
        Err(e) => {
            return vec![Finding::fail(
                part,
                format!("{e} (base_url {})", config.onlyfans.base_url),
            )]
        }
    };
    let finding = match status {
        200..=299 => {
            let accounts = body.get("data").unwrap_or(&body);
            match accounts.as_array() {
                Some(list) if list.is_empty() => Finding::warn(
                    part,
                    "key accepted, but no account is connected — connect a creator account in the OnlyFansAPI.com dashboard",
                ),
                Some(list) => Finding::ok(
                    part,
                    format!("key accepted, {} connected account(s)", list.len()),
                ),
                None => Finding::warn(part, "key accepted, but the account list could not be read"),
            }
        }
        401 | 403 => Finding::fail(
            part,
            format!("key refused ({status}) — set ONLYFANSAPI_API_KEY to a valid key from the OnlyFansAPI.com dashboard"),
        ),
        _ => Finding::fail(part, format!("GET /api/accounts answered {status}")),
    };
    vec![finding]
}

/// One check per provider some model uses; a line per model alias.
fn models(config: &Config) -> Vec<Check<'_>> {
    let providers: BTreeSet<&str> = config
        .llm
        .models
        .values()
        .map(|m| m.provider.as_str())
        .collect();
    providers
        .into_iter()
        .map(|provider| {
            Check::new(
                format!("Model provider {provider}"),
                provider_models(config, provider),
            )
        })
        .collect()
}

/// `GET {base_url}/models` with the provider's key; each alias's id must be listed.
async fn provider_models(config: &Config, provider: &str) -> Vec<Finding> {
    let aliases: Vec<(&String, &ModelConfig)> = config
        .llm
        .models
        .iter()
        .filter(|(_, m)| m.provider == provider)
        .collect();
    let listed = match offered(config, provider).await {
        Ok(listed) => listed,
        Err(text) => {
            return aliases
                .iter()
                .map(|(alias, m)| Finding::fail(model_part(alias, m), text.clone()))
                .collect()
        }
    };
    aliases
        .iter()
        .map(|(alias, m)| {
            let part = model_part(alias, m);
            if listed.contains(&m.id) {
                Finding::ok(part, "key accepted, model available")
            } else {
                Finding::fail(
                    part,
                    format!("key accepted, but {provider} does not offer `{}` — set [llm.models.\"{alias}\"] id to one of its models", m.id),
                )
            }
        })
        .collect()
}

/// The models `provider` offers to its key, or what is wrong.
async fn offered(config: &Config, provider: &str) -> Result<Vec<String>, String> {
    let Some(settings) = config.llm.providers.get(provider) else {
        return Err(format!(
            "provider `{provider}` is not in [llm.providers]: run `fanops check`"
        ));
    };
    let var = &settings.api_key_env;
    let Some(key) = config
        .secrets
        .provider_keys
        .get(provider)
        .and_then(|k| k.expose())
    else {
        return Err(format!("{var} is not set — export the {provider} API key"));
    };
    let base = settings.base_url.trim_end_matches('/');
    let refused =
        |status: u16| format!("key refused ({status}) — set {var} to a valid {provider} API key");
    let url = format!("{base}/models");
    let (status, body) = get_json(&url, key)
        .await
        .map_err(|e| format!("{e} (base_url {})", settings.base_url))?;
    if (200..300).contains(&status) && listed_to_anyone(&url).await {
        // The list proves nothing of the key: one token does.
        if let Some(status @ (401 | 403)) = one_token(config, base, key, provider).await {
            return Err(refused(status));
        }
    }
    match status {
        200..=299 => Ok(body["data"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()),
        401 | 403 => Err(refused(status)),
        _ => Err(format!("GET /models answered {status}")),
    }
}

/// Whether `url` answers without a key too (some providers list their models to anyone).
async fn listed_to_anyone(url: &str) -> bool {
    match http().get(url).send().await {
        Ok(response) => response.status().is_success(),
        Err(_) => false,
    }
}

/// The status of a one-token completion by the first model of `provider`.
async fn one_token(config: &Config, base: &str, key: &str, provider: &str) -> Option<u16> {
    let model = config
        .llm
        .models
        .values()
        .find(|m| m.provider == provider)?;
    let body = serde_json::json!({
        "model": model.id,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": 1,
    });
    let response = http()
        .post(format!("{base}/chat/completions"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}

fn model_part(alias: &str, model: &ModelConfig) -> String {
    format!("Model {alias} ({} on {})", model.id, model.provider)
}

/// The database answers, and which migrations it has.
async fn database(config: &Config) -> Vec<Finding> {
    let part = "Database";
    let url = &config.database.url;
    let shown = crate::app::redact_url(url);
    let state = match crate::store::migration_state(url).await {
        Ok(state) => state,
        Err(e) => {
            return vec![Finding::fail(
                part,
                format!("{e} — check [database] url ({shown}) and that the server runs"),
            )]
        }
    };
    let versions = |list: &[i64]| {
        list.iter()
            .map(|v| format!("{v:04}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let finding = if !state.failed.is_empty() {
        Finding::fail(
            part,
            format!("migration(s) {} failed half way ({shown}) — restore a backup or finish them by hand, then `fanops migrate`", versions(&state.failed)),
        )
    } else if !state.unknown.is_empty() {
        Finding::fail(
            part,
            format!("applied migration(s) {} are newer than this fanops ({shown}) — run the version that applied them", versions(&state.unknown)),
        )
    } else if state.missing {
        Finding::warn(
            part,
            format!("{shown} does not exist yet: `fanops migrate` (or the first `fanops run`) creates it"),
        )
    } else if state.applied.is_empty() {
        Finding::warn(
            part,
            format!("{} answers but holds no fanops tables yet: `fanops migrate` creates them ({} migrations; `fanops run` does at start)", state.backend, state.pending.len()),
        )
    } else if !state.pending.is_empty() {
        Finding::warn(
            part,
            format!("{} answers; {} migration(s) pending ({}) — `fanops migrate` applies them (`fanops run` does at start)", state.backend, state.pending.len(), versions(&state.pending)),
        )
    } else {
        Finding::ok(
            part,
            format!(
                "{} answers, all {} migrations applied",
                state.backend,
                state.applied.len()
            ),
        )
    };
    vec![finding]
}

/// Each `[[mcp]]` server: connects and lists its tools.
fn mcp(config: &Config) -> Vec<Check<'_>> {
    config
        .mcp
        .iter()
        .map(|server| {
            let part = format!("MCP {}", server.name);
            let run = async move {
                let one = crate::mcp::Mcp::new(
                    std::slice::from_ref(server),
                    &config.secrets,
                    crate::health::Health::default(),
                );
                one.connect_all().await;
                one.status()
                    .into_iter()
                    .map(|status| match status.connected {
                        true => Finding::ok(
                            part.clone(),
                            format!("connected ({}), {} tool(s)", status.transport, status.tools),
                        ),
                        false => Finding::fail(
                            part.clone(),
                            format!(
                                "{} — check its url or command in [[mcp]] and its headers_env",
                                status.detail
                            ),
                        ),
                    })
                    .collect()
            };
            Check::new(format!("MCP {}", server.name), run)
        })
        .collect()
}

/// One search of one result through the provider configured (not recorded in the
/// usage ledger: it is fanops checking itself).
async fn web_search(config: &Config, provider: &str) -> Vec<Finding> {
    let part = "Web search";
    let scratch = match crate::store::connect("sqlite::memory:").await {
        Ok(store) => store,
        Err(e) => return vec![Finding::fail(part, format!("no scratch store: {e}"))],
    };
    if let Err(e) = scratch.migrate().await {
        return vec![Finding::fail(part, format!("no scratch store: {e}"))];
    }
    let Some(search) = crate::web_search::WebSearch::from_config(config, scratch) else {
        return vec![Finding::fail(
            part,
            format!("provider `{provider}` is not known: run `fanops check`"),
        )];
    };
    let tags = crate::chat::CallTags::default();
    vec![match search.search("fanops", 1, &tags).await {
        Ok(_) => Finding::ok(part, format!("{provider} answered a search")),
        Err(crate::web_search::WebSearchError::Status { status: status @ (401 | 403), .. }) => {
            Finding::fail(
                part,
                format!("{provider} refused the key ({status}) — set [web_search] api_key_env's variable to a valid key"),
            )
        }
        Err(e) => Finding::fail(part, format!("{e} — check [web_search]")),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_check_that_hangs_fails_in_its_place_and_the_others_keep_their_order() {
        let checks = vec![
            Check::new("First", async { vec![Finding::ok("First", "fine")] }),
            Check::new("Hangs", std::future::pending()),
            Check::new("Last", async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                vec![Finding::warn("Last", "slow but there")]
            }),
        ];
        let lines: Vec<String> = run_checks(checks)
            .await
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "ok    First: fine",
                "FAIL  Hangs: no answer within 10 s — check the URL in the config and the network",
                "warn  Last: slow but there",
            ]
        );
    }

    #[tokio::test]
    async fn a_key_that_is_not_set_is_named_not_asked() {
        let mut config = Config::default();
        config.database.url = "sqlite::memory:".into();
        let lines: Vec<String> = run_checks(checks(&config))
            .await
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(
            lines[0],
            "FAIL  OnlyFansAPI: ONLYFANSAPI_API_KEY is not set — export the key from the OnlyFansAPI.com dashboard"
        );
        assert_eq!(
            lines[1],
            "FAIL  Model gpt-4.1-mini (gpt-4.1-mini on openai): OPENAI_API_KEY is not set — export the openai API key"
        );
        assert!(
            lines[2].starts_with("warn  Database: sqlite answers but holds no fanops tables yet"),
            "{lines:?}"
        );
        assert_eq!(
            lines[3],
            "warn  Chat platforms: none is configured, so the team cannot reach fanops yet (only `fanops chat` can): `fanops init` sets one up"
        );
        assert_eq!(
            lines.len(),
            4,
            "no platform, MCP server or search configured: {lines:?}"
        );
    }
}
