//! Which model answers and what it is metered at (DESIGN §12.5): when a model's provider
//! keeps failing, the next alias answers the same request, metered under the model that
//! answered (`fanops check` refuses fallbacks that name no model or go round in a
//! circle); cached input tokens are priced as cached.

use crate::helpers::{build_app, send_to};
use crate::support::{config_text, FakeModel, FakeOnlyFans, Reply};
use fanops::core::InboundBody;
use fanops::store::UsageDimension;

/// The test model falls back to `spare`, a model of another provider (another fake).
fn with_fallback(main: &FakeModel, spare: &FakeModel, api: &FakeOnlyFans, db: &str) -> String {
    let extra = format!(
        "[llm.providers.spare]\nbase_url = \"{}\"\napi_key_env = \"FAKE_MODEL_KEY\"\n\n\
         [llm.models.\"spare\"]\nprovider = \"spare\"\nid = \"spare-1\"\nusd_per_mtok_input = 3.0\nusd_per_mtok_output = 4.0\n",
        spare.url()
    );
    config_text(&main.url(), &api.url(), db, &extra).replacen(
        "usd_per_mtok_output = 2.0\n",
        "usd_per_mtok_output = 2.0\nfallbacks = [\"spare\"]\n",
        1,
    )
}

async fn ask(app: &fanops::app::App, text: &str) -> String {
    send_to(app, "1", "1", InboundBody::Text(text.into()))
        .await
        .last()
        .text
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_answered_for_by_its_fallback() {
    let (main, spare, api) = (
        FakeModel::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let (app, _) = build_app(
        "fallback.toml",
        with_fallback(&main, &spare, &api, &db),
        false,
    )
    .await;
    main.respond_with(|_| Reply::Status(503, "overloaded".into()));
    spare.respond_with(|_| Reply::text("From the spare model."));
    assert_eq!(
        ask(&app, "How much did we earn?").await,
        "From the spare model."
    );
    assert_eq!(
        main.request_count(),
        fanops::llm::MAX_ATTEMPTS,
        "its retries first"
    );
    assert_eq!(spare.request_count(), 1);
    assert_eq!(
        main.requests()[0]["messages"],
        spare.requests()[0]["messages"],
        "the same request"
    );
    let by_model = app
        .store
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    // (The account list read for the prompt is an API call of the turn's model.)
    let models: Vec<(&str, i64)> = by_model
        .iter()
        .filter(|r| r.model_calls > 0)
        .map(|r| (r.key.as_str(), r.model_calls))
        .collect();
    assert_eq!(
        models,
        [("spare", 1)],
        "metered under the model that answered: {by_model:?}"
    );

    // A key the provider refuses is not retried: the fallback answers at once.
    main.clear_requests();
    main.respond_with(|_| Reply::Status(401, "invalid_api_key".into()));
    assert_eq!(ask(&app, "And now?").await, "From the spare model.");
    assert_eq!(main.request_count(), 1);
    // The model recovers: it answers again, and the fallback is left alone.
    main.respond_with(|_| Reply::text("Back from the main model."));
    assert_eq!(ask(&app, "And now?").await, "Back from the main model.");
    assert_eq!(spare.request_count(), 2);
}

#[tokio::test]
async fn when_every_model_fails_the_person_is_told_why_the_first_did() {
    let (main, spare, api) = (
        FakeModel::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let (app, _) = build_app(
        "fallback.toml",
        with_fallback(&main, &spare, &api, &db),
        false,
    )
    .await;
    main.respond_with(|_| Reply::Status(401, "invalid_api_key".into()));
    spare.respond_with(|_| Reply::Status(401, "invalid_api_key".into()));
    let answer = ask(&app, "How much did we earn?").await;
    assert!(
        answer.contains("refused the key in `FAKE_MODEL_KEY`"),
        "{answer}"
    );
    assert!(
        answer.contains("`fake`"),
        "names the first model's provider: {answer}"
    );
    assert_eq!((main.request_count(), spare.request_count()), (1, 1));
}

/// Cached input tokens the provider reports are recorded and priced at
/// `usd_per_mtok_cached_input`, not at the full input price.
#[tokio::test]
async fn cached_tokens_are_recorded_and_priced_as_cached() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config_text(&model.url(), &api.url(), &db, "").replacen(
        "usd_per_mtok_output = 2.0\n",
        "usd_per_mtok_output = 2.0\nusd_per_mtok_cached_input = 0.25\n",
        1,
    );
    let (app, _) = build_app("cached.toml", text, false).await;
    model.push(Reply::text("Noted."));
    // A long question: the fake reports 1,024 of the prompt's tokens as cached.
    ask(&app, &"Tell me about the week. ".repeat(160)).await;
    let request = model.last_request().unwrap();
    let usage = crate::support::usage_for(&request, "Noted.".len());
    let (prompt, cached) = (
        usage["prompt_tokens"].as_i64().unwrap(),
        usage["prompt_tokens_details"]["cached_tokens"]
            .as_i64()
            .unwrap(),
    );
    assert_eq!(cached, 1024, "{usage}");
    let rows = app
        .store
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    let row = rows.iter().find(|r| r.model_calls == 1).unwrap();
    assert_eq!((row.prompt_tokens, row.cached_tokens), (prompt, cached));
    let completion = usage["completion_tokens"].as_f64().unwrap();
    let expected = ((prompt - cached) as f64 * 1.0 + cached as f64 * 0.25 + completion * 2.0) / 1e6;
    assert!(
        (row.cost_usd - expected).abs() < 1e-12,
        "{} vs {expected}",
        row.cost_usd
    );
}
