//! Slack: the time from an event reaching fanops's socket to the first post, with a fake
//! Slack (Socket Mode and Web API) and a model and API that answer at once.

use crate::harness::{answer_questions, ms, percentile, sorted, Fakes, Fanops, Options, RateLimit};
use crate::support::{message_event, FakeSlack};
use std::time::{Duration, Instant};

const ROUNDS: u32 = 50;
const DM: &str = "D0BENCH";

/// When the first `chat.postMessage` (and `chat.update`) in the DM after `since` reached
/// the fake.
fn first_at(slack: &FakeSlack, method: &str, since: Instant) -> Option<Instant> {
    slack
        .calls_of(method)
        .iter()
        .filter(|c| c.at >= since && c.body["channel"] == DM)
        .map(|c| c.at)
        .min()
}

async fn wait_for_call(slack: &FakeSlack, method: &str, since: Instant) -> Duration {
    loop {
        if let Some(at) = first_at(slack, method, since) {
            return at - since;
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "no {method} within 30 s"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

pub async fn event_to_first_post() {
    let fakes = Fakes::start().await;
    answer_questions(&fakes.model);
    let slack = FakeSlack::start().await;
    let options = Options {
        telegram_users: None,
        rate_limit: RateLimit::Unthrottled,
        extra: format!("[channels.slack]\napi_url = \"{}\"\n", slack.api_url()),
    };
    let mut fanops = Fanops::start(&fakes, &options);
    let ready = fanops.ready(Duration::from_secs(30)).await;
    println!("slack: start to ready (socket greeted): {}", ms(ready));
    let (mut plain, mut on_it, mut answered) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..ROUNDS {
        let ts = |k: u32| format!("1700000000.{:06}", n * 2 + k);
        // A question answered without tools: the answer is the first post.
        let pushed = Instant::now();
        slack.push_event(message_event(
            "U1BENCH",
            DM,
            &format!("hello #{n}"),
            &ts(0),
            None,
        ));
        plain.push(wait_for_call(&slack, "chat.postMessage", pushed).await);
        // A question that needs a tool: "On it…" first, then the answer edited in.
        let pushed = Instant::now();
        let question = format!("How much did we earn this week? #{n}");
        slack.push_event(message_event("U1BENCH", DM, &question, &ts(1), None));
        on_it.push(wait_for_call(&slack, "chat.postMessage", pushed).await);
        answered.push(wait_for_call(&slack, "chat.update", pushed).await);
    }
    let report = |what: &str, values: Vec<Duration>| {
        let values = sorted(values);
        println!(
            "slack: {what}: median {}, p95 {}, max {} ({ROUNDS} events)",
            ms(percentile(&values, 0.5)),
            ms(percentile(&values, 0.95)),
            ms(*values.last().unwrap())
        );
    };
    report("event to the answer posted (no tool)", plain);
    report("event to \"On it…\" posted (a tool question)", on_it);
    report(
        "event to the answer edited in (one agency_earnings call)",
        answered,
    );
    println!("  timed from the envelope being queued at the fake Socket Mode server to the Web API call reaching the fake");
    drop(fanops);
}
