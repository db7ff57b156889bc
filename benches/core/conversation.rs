//! What a 20-question conversation costs (DESIGN §12.5): fanops in process with an
//! adjustable clock, one question a simulated minute (earnings, top fans, subscribers,
//! chats, a write confirmed with a press, follow-ups), the fake model scripted. Every
//! request the model gets is counted exactly (o200k_base): input tokens, the part a
//! provider's prompt cache can reuse (the longest prefix shared with an earlier request,
//! counted as OpenAI caches: from 1,024 tokens, in steps of 128), output tokens, and credits
//! at the example config's prices, beside the same conversation with every catalog
//! endpoint sent as its own tool.

use crate::support::{config_text, FakeModel, FakeOnlyFans, Reply};
use async_trait::async_trait;
use fanops::chat::{Inbound, InboundBody, Outbound, Replier};
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use fanops::store::Decision;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::Duration;
use tiktoken_rs::CoreBPE;

/// The example config's gpt-4.1-mini, US dollars per million tokens, and its credits.
const INPUT: f64 = 0.40;
const CACHED: f64 = 0.10;
const OUTPUT: f64 = 1.60;
const CREDITS_PER_USD: f64 = 100.0;
const ACCOUNT: &str = "acct_8f3k2j1h0g9f8e7d";

#[derive(Default)]
struct Collect(Mutex<Vec<Outbound>>);

#[async_trait]
impl Replier for Collect {
    fn working(&self) {}

    async fn reply(&self, out: Outbound) {
        self.0.lock().unwrap().push(out);
    }
}

fn call(endpoint: &str, params: Value) -> Reply {
    let mut args = json!({"endpoint": endpoint, "account": ACCOUNT});
    if !params.is_null() {
        args["params"] = params;
    }
    Reply::ToolCalls(vec![("call_endpoint".into(), args)])
}

fn earnings(start: &str, end: &str) -> Reply {
    Reply::ToolCalls(vec![(
        "agency_earnings".into(),
        json!({"start_date": start, "end_date": end}),
    )])
}

/// Twenty questions, each with the model's replies in order.
fn script() -> Vec<(&'static str, Vec<Reply>)> {
    let text = |t: &str| Reply::Text(t.into());
    let mut questions = vec![
        (
            "How much did we earn this week?",
            vec![
                earnings("2026-11-30", "2026-12-06"),
                text("This week: $4,210.55 net across 2 creators."),
            ],
        ),
        (
            "And last week?",
            vec![
                earnings("2026-11-23", "2026-11-29"),
                text("Last week: $3,980.10 net."),
            ],
        ),
        (
            "Who are Luna's top fans?",
            vec![
                call("fans/list-top-fans", Value::Null),
                text("| Fan | Spent |\n|---|---|\n| Jake | $1,210.50 |"),
            ],
        ),
        (
            "What did Jake spend on messages?",
            vec![text("Jake spent $688.58 on messages.")],
        ),
        (
            "How are Luna's subscribers doing?",
            vec![
                call("statistics/get-subscriber-statistics", Value::Null),
                text("Subscribers are up 4% this month."),
            ],
        ),
        (
            "Is that better than Mia?",
            vec![text(
                "Mia's account needs re-authentication, so I can't compare yet.",
            )],
        ),
        (
            "Any unread chats?",
            vec![
                call("chats/list-chats", json!({"filter": "unread"})),
                text("Jake wrote last, 2 hours ago."),
            ],
        ),
        (
            "Thank Jake for his support",
            vec![call(
                "chat-messages/send-message",
                json!({"chat_id": 99120455, "text": "Thanks Jake!"}),
            )],
        ),
    ];
    let later = [
        (
            "How much today?",
            vec![
                earnings("2026-12-07", "2026-12-07"),
                text("Today so far: $312.40."),
            ],
        ),
        (
            "Top fans again, briefly",
            vec![
                call("fans/list-top-fans", Value::Null),
                text("Jake, then Sam."),
            ],
        ),
        (
            "What's Luna's balance?",
            vec![
                call("payouts/get-account-balances", Value::Null),
                text("Available: $2,104.00."),
            ],
        ),
        (
            "Any new transactions?",
            vec![
                call("transactions/list-transactions", Value::Null),
                text("3 tips and 1 PPV unlock today."),
            ],
        ),
        (
            "Summarise the week in one line",
            vec![text("A good week: earnings up 6% on the last.")],
        ),
        (
            "How did the tracking links do?",
            vec![
                call("tracking-links/list-tracking-links", Value::Null),
                text("Reddit r/xyz June brought 412 subscribers."),
            ],
        ),
        (
            "And the free trial links?",
            vec![
                call("free-trial-links/list-free-trial-links", Value::Null),
                text("The June trial brought 88 subscribers."),
            ],
        ),
        (
            "Statistics overview please",
            vec![
                call("statistics/statistics-overview", Value::Null),
                text("Visitors up, conversion steady."),
            ],
        ),
        (
            "What did the last mass message make?",
            vec![
                call("mass-messaging/get-mass-message-overview", Value::Null),
                text("$540 from 1,200 sent."),
            ],
        ),
        ("Thanks!", vec![text("Any time.")]),
        (
            "Earnings this month?",
            vec![
                earnings("2026-12-01", "2026-12-07"),
                text("December so far: $5,020.75."),
            ],
        ),
    ];
    questions.extend(later);
    questions
}

async fn app(
    model: &FakeModel,
    api: &FakeOnlyFans,
    dir: &std::path::Path,
) -> (fanops::app::App, Clock) {
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    let text = config_text(&model.url(), &api.url(), &db, "");
    let env = |name: &str| match name {
        "ONLYFANSAPI_API_KEY" | "FAKE_MODEL_KEY" => Some("bench-key".to_string()),
        _ => None,
    };
    let source = ConfigSource::Text {
        origin: "conversation.toml".into(),
        text,
    };
    let config = Config::load_with_env(source, &env, &fanops::channels::configs())
        .expect("the bench config loads");
    let clock = Clock::adjustable();
    let app = fanops::app::App::build_with_clock(config, clock.clone())
        .await
        .expect("the app builds");
    (app, clock)
}

async fn say(app: &fanops::app::App, body: InboundBody) -> Vec<Outbound> {
    let inbound = Inbound {
        platform: "telegram".into(),
        connection: "telegram".into(),
        chat: "1".into(),
        thread: None,
        user: "1".into(),
        user_name: "Operator".into(),
        private: true,
        body,
    };
    let collect = Collect::default();
    app.core.handle(inbound, &collect).await;
    collect.0.into_inner().unwrap()
}

/// The requests the model got and the replies it gave, in order.
async fn run_conversation() -> (Vec<Value>, Vec<Reply>) {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().expect("a scratch folder");
    let (app, clock) = app(&model, &api, dir.path()).await;
    let mut given = Vec::new();
    for (question, replies) in script() {
        given.extend(replies.iter().cloned());
        model.push_all(replies);
        let out = say(&app, InboundBody::Text(question.into())).await;
        if let Some(prompt) = out.last().and_then(|o| o.confirm.clone()) {
            let done = Reply::Text("Sent: Jake has your thanks.".into());
            given.push(done.clone());
            model.push(done);
            let decision = InboundBody::Decision {
                action_id: prompt.action_id,
                decision: Decision::Confirm,
            };
            say(&app, decision).await;
        }
        clock.advance(Duration::from_secs(60));
    }
    (model.requests(), given)
}

/// Tokens of a request as a provider reads it: the tools, then the messages.
fn request_tokens(bpe: &CoreBPE, tools: &Value, messages: &Value) -> Vec<u32> {
    bpe.encode_ordinary(&format!("{tools}{messages}"))
}

/// Tokens a provider's cache would serve: the longest prefix shared with any earlier
/// request, from 1,024 tokens on, in whole steps of 128.
fn cached(earlier: &[Vec<u32>], now: &[u32]) -> usize {
    let shared = earlier
        .iter()
        .map(|e| e.iter().zip(now).take_while(|(a, b)| a == b).count())
        .max()
        .unwrap_or(0);
    if shared < 1024 {
        0
    } else {
        shared / 128 * 128
    }
}

struct Cost {
    input: usize,
    cached_after_first: usize,
    input_after_first: usize,
    cached: usize,
    output: usize,
}

impl Cost {
    fn credits(&self, with_cache: bool) -> f64 {
        let cached = if with_cache { self.cached } else { 0 };
        let usd = ((self.input - cached) as f64 * INPUT
            + cached as f64 * CACHED
            + self.output as f64 * OUTPUT)
            / 1e6;
        usd * CREDITS_PER_USD
    }
}

fn cost(
    bpe: &CoreBPE,
    requests: &[Value],
    outputs: usize,
    tools_of: &dyn Fn(&Value) -> Value,
) -> Cost {
    let mut seen: Vec<Vec<u32>> = Vec::new();
    let mut cost = Cost {
        input: 0,
        cached_after_first: 0,
        input_after_first: 0,
        cached: 0,
        output: outputs,
    };
    for (i, request) in requests.iter().enumerate() {
        let tokens = request_tokens(bpe, &tools_of(request), &request["messages"]);
        let hit = cached(&seen, &tokens);
        cost.input += tokens.len();
        cost.cached += hit;
        if i > 0 {
            cost.input_after_first += tokens.len();
            cost.cached_after_first += hit;
        }
        seen.push(tokens);
    }
    cost
}

fn output_tokens(bpe: &CoreBPE, replies: &[Reply]) -> usize {
    replies
        .iter()
        .map(|r| match r {
            Reply::Text(t) => bpe.encode_ordinary(t).len(),
            Reply::ToolCalls(calls) => calls
                .iter()
                .map(|(name, args)| bpe.encode_ordinary(&format!("{name}{args}")).len())
                .sum(),
            _ => 0,
        })
        .sum()
}

pub async fn conversation() {
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base is embedded");
    let (requests, replies) = run_conversation().await;
    let outputs = output_tokens(&bpe, &replies);
    let ours = cost(&bpe, &requests, outputs, &|r| r["tools"].clone());
    let every = crate::prompt::every_endpoint_as_a_tool();
    let baseline = cost(&bpe, &requests, outputs, &|_| every.clone());
    let share = |c: &Cost| c.cached_after_first as f64 * 100.0 / c.input_after_first.max(1) as f64;
    println!(
        "conversation of 20 questions over 20 simulated minutes ({} model requests):",
        requests.len()
    );
    println!(
        "  input {} tokens, of which a prompt cache serves {:.0}% after the first request (target >= 80%); output {} tokens; {:.3} credits at the example config's prices ({:.3} if nothing were cached)",
        ours.input,
        share(&ours),
        ours.output,
        ours.credits(true),
        ours.credits(false)
    );
    println!(
        "  every catalog endpoint as its own tool: input {} tokens, {:.3} credits with the same cache, {:.3} without; fanops costs 1/{:.0} of it cached, 1/{:.0} of it uncached (target <= 1/20)",
        baseline.input,
        baseline.credits(true),
        baseline.credits(false),
        baseline.credits(true) / ours.credits(true),
        baseline.credits(false) / ours.credits(true),
    );
}
