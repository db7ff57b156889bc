//! "How much did we earn this month?" asked twice in a row through Telegram, for 50
//! creators whose API answers in 300 ms, at the default `[onlyfans] requests_per_minute`.

use crate::harness::{ask_timed, ms, tag_of, Fakes, Fanops, Options, RateLimit};
use crate::support::{self, after_tool, last_user_text, FakeOnlyFans, Reply};
use serde_json::{json, Value};
use std::time::Duration;

const ACCOUNTS: usize = 50;
const API_DELAY: Duration = Duration::from_millis(300);

pub async fn earnings_twice() {
    let api = FakeOnlyFans::start_with_accounts(ACCOUNTS).await;
    api.set_delay(API_DELAY);
    let fakes = Fakes::with_api(api).await;
    fakes.model.respond_with(|request: &Value| {
        if after_tool(request) {
            Reply::text(format!(
                "Your 50 creators earned $48,210 this month. {}",
                tag_of(last_user_text(request))
            ))
        } else {
            Reply::tool(
                "agency_earnings",
                json!({"start_date": "2025-06-01", "end_date": "2025-06-30"}),
            )
        }
    });
    let options = Options {
        rate_limit: RateLimit::Default,
        ..Options::telegram(1)
    };
    let mut fanops = Fanops::start(&fakes, &options);
    fanops.ready(Duration::from_secs(30)).await;
    support::record_handling(true);
    for (n, label) in [
        (1, "first ask (the process's first turn)"),
        (2, "second ask, right after"),
    ] {
        let before = fakes.api.requests().len();
        let question = format!("How much did we earn this month? #{n}");
        let turn = ask_timed(&fakes.tg, 1, &question, Duration::from_secs(300)).await;
        let requests = &fakes.api.requests()[before..];
        let earnings = requests
            .iter()
            .filter(|r| r.path.ends_with("/statistics/statements/earnings"))
            .count();
        let answer = fakes.tg.sent_texts(1).last().cloned().unwrap_or_default();
        assert!(answer.contains(&format!("(#{n})")), "{answer}");
        println!(
            "agency_earnings, {ACCOUNTS} creators, API answering in {}, default requests_per_minute, {label}: {} (target < 1.5 s)",
            ms(API_DELAY),
            ms(turn.user_wait())
        );
        println!(
            "  message queued → answer edited in; {} API requests ({earnings} earnings reads); some fake busy in a handler for {} of it",
            requests.len(),
            ms(turn.in_fakes)
        );
    }
    support::record_handling(false);
    support::clear_handled();
}
