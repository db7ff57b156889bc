//! `fanops run` with Discord on, against the fake Discord (REST and gateway) and a model
//! that answers at once: from a mention arriving over the gateway to the thread being
//! started and to the answer being posted in it.

use crate::harness::{ms, percentile, sorted, Fakes, Fanops, Options, RateLimit};
use crate::support::{last_user_text, FakeDiscord, Reply, GENERAL};
use std::time::{Duration, Instant};

const ROUNDS: usize = 200;
const OPERATOR: u64 = 222;
const LIMIT: Duration = Duration::from_secs(30);

/// One mention, timed: (to the thread, to the answer), from the moment the bench hands
/// the MESSAGE_CREATE to the fake gateway to the REST calls reaching the fake.
async fn mention_timed(dc: &FakeDiscord, n: usize) -> (Duration, Duration) {
    let pushed = Instant::now();
    let question = dc.mention(GENERAL, OPERATOR, &format!("How are we doing? #{n}"));
    let answered = |dc: &FakeDiscord| {
        dc.calls_to("POST", &format!("/channels/{question}/messages"))
            .into_iter()
            .find(|c| {
                c.body["content"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(&format!("#{n}")))
            })
    };
    loop {
        if let Some(answer) = answered(dc) {
            let thread = dc
                .calls_to("POST", &format!("/messages/{question}/threads"))
                .pop()
                .expect("a thread was started first");
            return (thread.at - pushed, answer.at - pushed);
        }
        assert!(
            pushed.elapsed() < LIMIT,
            "no answer to #{n} within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

pub async fn mention_to_answer() {
    let fakes = Fakes::start().await;
    fakes.model.respond_with(|request| {
        let question = last_user_text(request);
        let tag = question.rsplit_once('#').map_or("", |(_, n)| n);
        Reply::Text(format!("All good #{tag}"))
    });
    let dc = FakeDiscord::start().await;
    let options = Options {
        telegram_users: None,
        rate_limit: RateLimit::Unthrottled,
        extra: format!(
            "[channels.discord]\napi_url = \"{}\"\nroles = {{ \"{OPERATOR}\" = \"operator\" }}\n",
            dc.url()
        ),
    };
    let mut fanops = Fanops::start(&fakes, &options);
    let ready = fanops.ready(LIMIT).await;
    assert!(
        dc.wait_for(|dc| dc.connected(), LIMIT).await,
        "the gateway session starts"
    );
    // Warm-up: the first turn of a process pays for lazy set-up.
    for n in 0..5 {
        mention_timed(&dc, n).await;
    }
    let (mut to_thread, mut to_answer) = (Vec::new(), Vec::new());
    for n in 5..5 + ROUNDS {
        let (thread, answer) = mention_timed(&dc, n).await;
        to_thread.push(thread);
        to_answer.push(answer);
    }
    let (to_thread, to_answer) = (sorted(to_thread), sorted(to_answer));
    println!(
        "Discord, start to ready with the gateway session connected: {}",
        ms(ready)
    );
    println!(
        "Discord mention → thread started: median {}, p95 {}; → answer posted in the thread: median {}, p95 {}, max {} ({ROUNDS} mentions, one at a time)",
        ms(percentile(&to_thread, 0.5)),
        ms(percentile(&to_thread, 0.95)),
        ms(percentile(&to_answer, 0.5)),
        ms(percentile(&to_answer, 0.95)),
        ms(to_answer[to_answer.len() - 1]),
    );
    println!("  release `fanops run` against the fake gateway and REST, the fake model answering at once (no tool call); includes claiming the event, the channel lookup, starting the thread, recording it, the model call and the post");
    drop(fanops);
}
