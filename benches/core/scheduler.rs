//! 10,000 active workflow files run by `fanops run`'s own timer loop: how late each fire
//! starts, and what the process costs while it waits between fires.

use crate::harness::{ms, percentile, sorted, Fakes, Fanops, Options};
use crate::support::Reply;
use chrono::{DateTime, DurationRound, Timelike, Utc};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TASKS: usize = 10_000;
const CHATS: usize = 50;

/// Task `i` runs hourly at minute `i % 60` (about 167 fires every minute) and posts to
/// private chat `1 + i % 50`.
fn workflow(i: usize) -> String {
    format!(
        "name = \"Task {i}\"\ncategory = \"Reports\"\nprompt = \"Report for task {i}.\"\n\n[schedule]\ncron = \"{} * * * *\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"telegram\"\nto = \"{}\"\n",
        i % 60,
        1 + i % CHATS
    )
}

/// The task a model request runs for, from its prompt.
fn task_of(request: &Value) -> Option<usize> {
    let messages = request["messages"].as_array()?;
    messages.iter().rev().find_map(|m| {
        let text = m["content"].as_str()?;
        let rest = text.split("Report for task ").nth(1)?;
        rest.split('.').next()?.parse().ok()
    })
}

fn fires_at(minute: u32) -> usize {
    (0..TASKS).filter(|i| (i % 60) as u32 == minute).count()
}

/// When each task's run reached the model (wall clock of this process).
type Arrivals = Arc<Mutex<Vec<(usize, DateTime<Utc>)>>>;

async fn until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

/// Waits until `n` runs of tasks firing at `minute` have reached the model, up to `limit`.
async fn runs_arrived(arrivals: &Arrivals, minute: u32, n: usize, limit: DateTime<Utc>) -> bool {
    loop {
        let got = arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|(i, _)| (i % 60) as u32 == minute)
            .count();
        if got >= n {
            return true;
        }
        if Utc::now() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn scheduler_10k() {
    let fakes = Fakes::start().await;
    let arrivals: Arrivals = Default::default();
    let seen = arrivals.clone();
    fakes.model.respond_with(move |request: &Value| {
        if let Some(task) = task_of(request) {
            seen.lock().unwrap().push((task, Utc::now()));
        }
        Reply::text("Done: the report is ready.")
    });
    let workflows = tempfile::tempdir().unwrap();
    for i in 0..TASKS {
        std::fs::write(
            workflows.path().join(format!("task-{i:05}.toml")),
            workflow(i),
        )
        .unwrap();
    }
    let options = Options {
        extra: format!(
            "[scheduler]\nworkflows_dir = \"{}\"\n",
            workflows.path().display()
        ),
        ..Options::telegram(CHATS as u32)
    };
    let mut fanops = Fanops::start(&fakes, &options);
    let ready = fanops.ready(Duration::from_secs(300)).await;
    println!(
        "scheduler, {TASKS} active workflow files (hourly, about 167 due each minute), fanops run with Telegram on:"
    );
    println!(
        "  start to ready (files loaded and checked, every task anchored): {}; then {}",
        ms(ready),
        fanops.memory()
    );
    let minute = chrono::Duration::minutes(1);
    let first = Utc::now().duration_trunc(minute).unwrap() + minute;
    let second = first + minute;
    let expected = [first, second].map(|at| fires_at(at.minute()));

    until(first + chrono::Duration::seconds(30)).await;
    let first_done = runs_arrived(&arrivals, first.minute(), expected[0], Utc::now()).await;
    let (cpu, idle_from) = (fanops.cpu(), std::time::Instant::now());
    until(second - chrono::Duration::seconds(2)).await;
    let idle = idle_from.elapsed();
    let (idle_cpu, _) = fanops.cpu().since(&cpu);
    let memory = fanops.memory();
    runs_arrived(
        &arrivals,
        second.minute(),
        expected[1],
        second + chrono::Duration::seconds(60),
    )
    .await;

    let mut lateness = Vec::new();
    for (task, arrived) in arrivals.lock().unwrap().iter() {
        let due = [first, second]
            .into_iter()
            .find(|at| at.minute() == (task % 60) as u32);
        if let Some(due) = due {
            lateness.push((*arrived - due).to_std().unwrap_or(Duration::ZERO));
        }
    }
    let lateness = sorted(lateness);
    let wanted = expected[0] + expected[1];
    assert!(
        !lateness.is_empty(),
        "no fire reached the model:\n{}",
        fanops.log()
    );
    println!(
        "  fire lateness over the fires at {} and {} ({} of {wanted} started): min {}, p50 {}, p99 {}, max {} (target p99 < 1 s)",
        first.format("%H:%M"),
        second.format("%H:%M"),
        lateness.len(),
        ms(lateness[0]),
        ms(percentile(&lateness, 0.5)),
        ms(percentile(&lateness, 0.99)),
        ms(lateness[lateness.len() - 1]),
    );
    println!("    = the run's model request reaching the fake model, minus the scheduled minute: the timer's wake-up, the tick, the claim in SQLite and the run's start");
    if !first_done {
        println!("  (the fires at {} were still running 30 s later: the idle figure below includes them)", first.format("%H:%M"));
    }
    println!(
        "  between fires: {} of CPU over {:.1} s ({} per second; the loop ticks once a second when nothing is due), {memory}",
        ms(idle_cpu),
        idle.as_secs_f64(),
        ms(idle_cpu.div_f64(idle.as_secs_f64())),
    );
}
