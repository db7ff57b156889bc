//! `fanops run` with Telegram on, used as a team uses it: start-to-ready, memory before
//! and after 1,000 answered turns across 50 chats, and the bot's own time per turn once
//! every conversation carries a 20-turn history.

use crate::harness::{
    answer_questions, answered_all, ask_timed, ms, percentile, sorted, Fakes, Fanops, Memory,
    Options, TurnTiming,
};
use crate::support;
use std::time::{Duration, Instant};

const CHATS: i64 = 50;
const TURNS: usize = 1_000;
/// Measured turns once every chat has its history.
const MEASURED: usize = 500;
const TURN_LIMIT: Duration = Duration::from_secs(30);
/// How long the process is left alone before its memory is read.
const SETTLE: Duration = Duration::from_secs(3);

fn earnings_question(n: usize) -> String {
    format!("How much did we earn this week? #{n}")
}

fn greeting(n: usize) -> String {
    format!("Say hello to the team #{n}")
}

/// `fanops run` started from nothing, `rounds` times: time to the first `/readyz` 200,
/// without a channel and with Telegram on.
pub async fn start_to_ready(rounds: usize) {
    for (label, telegram) in [
        ("no channel (HTTP server and scheduler)", None),
        ("Telegram on (fake Bot API)", Some(1)),
    ] {
        let mut times = Vec::new();
        for _ in 0..rounds {
            let fakes = Fakes::start().await;
            let options = Options {
                telegram_users: telegram,
                ..Options::telegram(1)
            };
            let mut fanops = Fanops::start(&fakes, &options);
            times.push(fanops.ready(Duration::from_secs(30)).await);
        }
        let times = sorted(times);
        println!(
            "start to ready, new SQLite file, {label}: median {} (min {}, max {}) over {rounds} starts (target < 200 ms)",
            ms(percentile(&times, 0.5)),
            ms(times[0]),
            ms(times[times.len() - 1]),
        );
    }
    println!("  from spawning the release binary to the first 200 from /readyz, asked every 2 ms; with Telegram on, /readyz waits for the first poll (Telegram answers it at once; later polls are held)");
}

/// Memory (when `memory`) and per-turn overhead (when `turns`) of one `fanops run`.
pub async fn channel(memory: bool, turns: bool) {
    let fakes = Fakes::start().await;
    answer_questions(&fakes.model);
    let mut fanops = Fanops::start(&fakes, &Options::telegram(CHATS as u32));
    let ready = fanops.ready(Duration::from_secs(30)).await;
    support::record_handling(true);
    tokio::time::sleep(SETTLE).await;
    let before = fanops.memory();

    // The first question of each chat, one at a time; the very first is the process's.
    let mut firsts = Vec::new();
    for chat in 1..=CHATS {
        let n = chat as usize;
        firsts.push(ask_timed(&fakes.tg, chat, &earnings_question(n), TURN_LIMIT).await);
        if chat == 1 {
            tokio::time::sleep(SETTLE).await;
        }
    }
    let after_first = fanops.memory();
    // The rest in rounds: each round asks once in every chat at the same time, every
    // other question needing a tool.
    let rounds_started = Instant::now();
    let mut asked = CHATS as usize;
    while asked < TURNS {
        support::clear_handled();
        let mut expected = Vec::new();
        for chat in 1..=CHATS {
            asked += 1;
            let question = if asked.is_multiple_of(2) {
                earnings_question(asked)
            } else {
                greeting(asked)
            };
            fakes.tg.push_text(chat, chat, &question);
            expected.push((chat, format!("(#{asked})")));
        }
        answered_all(&fakes.tg, &expected, TURN_LIMIT).await;
    }
    let rounds_took = rounds_started.elapsed();
    tokio::time::sleep(SETTLE).await;
    let after_all = fanops.memory();

    if memory {
        report_memory(
            ready,
            [before, after_first, after_all],
            &firsts,
            rounds_took,
        );
    }
    if turns {
        overhead(&fakes, &fanops).await;
    }
    support::record_handling(false);
    support::clear_handled();
}

fn report_memory(
    ready: Duration,
    [before, after_first, after_all]: [Memory; 3],
    firsts: &[TurnTiming],
    rounds_took: Duration,
) {
    println!(
        "fanops run, Telegram on, SQLite, instant fake model and API (ready after {}):",
        ms(ready)
    );
    println!("  idle before the first message: {before}");
    println!("  idle after the first turn:     {after_first}");
    println!("  idle after {TURNS} turns in {CHATS} chats: {after_all} (target < 30 MB steady)");
    let first = firsts[0].user_wait();
    let rest = sorted(firsts[1..].iter().map(TurnTiming::user_wait).collect());
    println!(
        "  first turn of the process: {} vs median {} for the first turn of the other {} chats (message queued → answer edited in; the first also fetches the account list)",
        ms(first),
        ms(percentile(&rest, 0.5)),
        rest.len()
    );
    let rounds = (TURNS - CHATS as usize) / CHATS as usize;
    println!(
        "  the other {} turns, in {rounds} rounds of {CHATS} chats at once (half with a tool call): {} per round",
        TURNS - CHATS as usize,
        ms(rounds_took / rounds as u32)
    );
}

/// Questions asked one at a time, round-robin over chats that already hold 20 turns each.
async fn overhead(fakes: &Fakes, fanops: &Fanops) {
    let model_requests = fakes.model.request_count();
    let mut timings = Vec::new();
    let cpu = fanops.cpu();
    for i in 0..MEASURED {
        let chat = (i as i64 % CHATS) + 1;
        let n = TURNS + 1 + i;
        timings.push(ask_timed(&fakes.tg, chat, &earnings_question(n), TURN_LIMIT).await);
    }
    let (cpu, switches) = fanops.cpu().since(&cpu);
    let requests = fakes.model.requests();
    let sent: Vec<usize> = requests[model_requests..]
        .iter()
        .filter_map(|r| r["messages"].as_array().map(Vec::len))
        .collect();
    let bot = sorted(timings.iter().map(TurnTiming::bot).collect());
    let handled = sorted(timings.iter().map(TurnTiming::handled).collect());
    let fakes_time = sorted(timings.iter().map(|t| t.in_fakes).collect());
    let user = sorted(timings.iter().map(TurnTiming::user_wait).collect());
    let fake_requests = timings.iter().map(|t| t.fake_requests).max().unwrap_or(0);
    println!(
        "turn through Telegram, {MEASURED} questions one at a time in {CHATS} chats holding 20–{} earlier turns each:",
        20 + MEASURED / CHATS as usize - 1
    );
    println!(
        "  each: update handed out by the fake Telegram → bot → model asks agency_earnings → API read (2 creators) → model answers → answer edited into \"On it…\" ({fake_requests} requests to the fakes)"
    );
    println!(
        "  bot overhead per turn: median {}, p90 {}, p99 {} (target median < 1 ms)",
        ms(percentile(&bot, 0.5)),
        ms(percentile(&bot, 0.9)),
        ms(percentile(&bot, 0.99))
    );
    println!(
        "    = from the fake Telegram's getUpdates answer being ready to the edit reaching its handler (median {}), minus the wall time any fake spent inside a handler (median {})",
        ms(percentile(&handled, 0.5)),
        ms(percentile(&fakes_time, 0.5))
    );
    println!(
        "    includes fanops' own work, its HTTP clients and the loopback round trips (kernel time of both ends); the model requests carried {}–{} messages after the history budget",
        sent.iter().min().unwrap_or(&0),
        sent.iter().max().unwrap_or(&0)
    );
    println!(
        "  what a person waits (message queued at the fake → answer edited in): median {}, p99 {}",
        ms(percentile(&user, 0.5)),
        ms(percentile(&user, 0.99))
    );
    println!(
        "  fanops CPU: {} and {} thread context switches per turn (all its threads, background work included)",
        ms(cpu / MEASURED as u32),
        switches / MEASURED as u64
    );
}
