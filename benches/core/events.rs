//! Webhook load: 1,000 signed OnlyFansAPI events a second for 10 s against `fanops run`
//! with one alert rule. Reports how many calls were answered 200 (accepted), how many
//! events were stored and processed by the rule (from `/metrics`), the answer-time
//! percentiles, and the process's peak resident memory.

use crate::harness::{ms, percentile, sorted, Fakes, Fanops, Options};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PER_SECOND: usize = 1_000;
const SECONDS: usize = 10;
const SECRET: &str = "bench-webhook-secret";

/// One alert rule: tips of $50 or more post to chat 1 (one event in a hundred).
const RULE: &str = r#"name = "Big tips"
[trigger]
event = "tip"
min_amount = 50
template = "💸 {fan_name} tipped {amount} on {account}"
[deliver]
channel = "telegram"
to = "1"
"#;

fn body(n: usize) -> String {
    let price = if n.is_multiple_of(100) { 120 } else { 5 };
    json!({"event": "messages.received", "account_id": "acct_bench", "payload": {
        "id": n, "isTip": true, "price": price, "text": "<p>thanks</p>",
        "fromUser": {"id": n % 500, "username": format!("fan{}", n % 500), "name": "Fan"}}})
    .to_string()
}

/// The sum of every sample of `metric` in the Prometheus text.
fn total(metrics: &str, metric: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(metric) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

pub async fn webhook_load() {
    let fakes = Fakes::start().await;
    let workflows = tempfile::tempdir().unwrap();
    std::fs::write(workflows.path().join("big-tips.toml"), RULE).unwrap();
    // The child inherits it: the secret is never written in a file.
    std::env::set_var("ONLYFANSAPI_WEBHOOK_SECRET", SECRET);
    let mut options = Options::telegram(1);
    options.extra = format!(
        "[scheduler]\nworkflows_dir = \"{}\"\n\n[events.onlyfansapi]\nenabled = true\n",
        workflows.path().display()
    );
    let mut fanops = Fanops::start(&fakes, &options);
    fanops.ready(Duration::from_secs(30)).await;
    let url = format!("{}/webhooks/onlyfansapi", fanops.base);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let bodies: Vec<(String, String)> = (0..PER_SECOND * SECONDS)
        .map(|n| {
            let body = body(n);
            let sig = hex::encode(hmac_of(body.as_bytes()));
            (body, sig)
        })
        .collect();
    let answers = Arc::new(Mutex::new(Vec::with_capacity(bodies.len())));
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut sends = Vec::with_capacity(bodies.len());
    for (n, (body, sig)) in bodies.into_iter().enumerate() {
        // Evenly spread: event n leaves at n ms.
        let due = started + Duration::from_micros((n * 1_000_000 / PER_SECOND) as u64);
        tokio::time::sleep_until(due.into()).await;
        let (http, url) = (http.clone(), url.clone());
        let (answers, accepted) = (answers.clone(), accepted.clone());
        sends.push(tokio::spawn(async move {
            let sent = Instant::now();
            let response = http
                .post(&url)
                .header("Signature", sig)
                .body(body)
                .send()
                .await;
            let took = sent.elapsed();
            if response.is_ok_and(|r| r.status() == 200) {
                accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            answers.lock().unwrap().push(took);
        }));
    }
    for send in sends {
        let _ = send.await;
    }
    let sending = started.elapsed();
    let metrics_url = format!("{}/metrics", fanops.base);
    let sent = PER_SECOND * SECONDS;
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut stored, mut processed) = (0, 0);
    while Instant::now() < deadline {
        let metrics = http
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        stored = total(&metrics, "fanops_events_total");
        processed = total(&metrics, "fanops_alerts_total");
        if processed >= stored && stored >= sent as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let answers = sorted(answers.lock().unwrap().clone());
    let memory = fanops.memory();
    println!(
        "events: {sent} signed webhook calls at {PER_SECOND}/s for {SECONDS} s (sending took {})",
        ms(sending)
    );
    println!(
        "  accepted (200) {} · stored {stored} · processed by the rule {processed}",
        accepted.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "  answer time: median {} · p99 {} · max {} (target p99 < 50 ms)",
        ms(percentile(&answers, 0.5)),
        ms(percentile(&answers, 0.99)),
        ms(*answers.last().unwrap())
    );
    println!("  memory: {memory}");
}

fn hmac_of(body: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}
